import type { AddressInfo } from 'node:net'
import { request } from 'node:http'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'

/** The four routes with a metric id, for an id given as an already-encoded path segment. */
const ROUTES = [
  { name: 'POST latency', call: (app: FastifyInstance, seg: string) => postJson(app, `/metrics/${seg}/latency`, { latency_ns: 5 }) },
  { name: 'POST jobs', call: (app: FastifyInstance, seg: string) => postJson(app, `/metrics/${seg}/jobs`, { event: 'started' }) },
  { name: 'GET', call: (app: FastifyInstance, seg: string) => app.inject({ method: 'GET', url: `/metrics/${seg}` }) },
  { name: 'DELETE', call: (app: FastifyInstance, seg: string) => app.inject({ method: 'DELETE', url: `/metrics/${seg}` }) },
] as const

function expect400ForId(res: LightMyRequestResponse) {
  expect(res.statusCode, res.body).toBe(400)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' })
  expect(res.json().message).toMatch(/\bid\b/)
}

/** Writes, reads, lists and deletes `id` (sent as the encoded segment `seg`), checking each step. */
async function roundTrip(app: FastifyInstance, id: string, seg = encodeURIComponent(id)) {
  expect((await app.inject({ method: 'GET', url: `/metrics/${seg}` })).statusCode).toBe(404)
  const w = await postJson(app, `/metrics/${seg}/latency`, { latency_ns: [10, 30] })
  expect(w.statusCode, w.body).toBe(202)
  const j = await postJson(app, `/metrics/${seg}/jobs`, { event: 'started', count: 3 })
  expect(j.statusCode, j.body).toBe(202)
  const read = await app.inject({ method: 'GET', url: `/metrics/${seg}` })
  expect(read.statusCode).toBe(200)
  expect(read.json()).toMatchObject({ id, count: 2, total: 2, min_ns: 10, max_ns: 30, jobs: { started: 3, in_progress: 3 } })
  const listed = (await app.inject({ method: 'GET', url: '/metrics' })).json().metrics
  expect(listed.filter((m: { id: string }) => m.id === id)).toEqual([read.json()])
  expect((await app.inject({ method: 'DELETE', url: `/metrics/${seg}` })).statusCode).toBe(204)
  expect((await app.inject({ method: 'GET', url: `/metrics/${seg}` })).statusCode).toBe(404)
}

const ALL_ALLOWED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-'

describe('metric ids that are allowed', () => {
  it.each([
    ['length 1', 'x'],
    ['length 128', 'a'.repeat(64) + 'Z9_.:-'.repeat(10) + 'bcdq'],
    ['every allowed character', ALL_ALLOWED],
    ['upper case', 'CHECKOUT'],
    ['digits', '0123456789'],
    ['underscore', '_'],
    ['dot', 'api.v2.latency'],
    ['colon', 'svc:checkout:p'],
    ['hyphen', '-checkout-'],
    ['dots in a row', 'a..b'],
    ['three dots', '...'],
    ['a leading double dot', '..a'],
  ])('%s (%s) works on every route', async (name, id) => {
    if (name === 'length 128') expect(id).toHaveLength(128)
    const app = await build()
    await roundTrip(app, id)
  })

  it('ids are case-sensitive', async () => {
    const app = await build()
    await postJson(app, '/metrics/Checkout/latency', { latency_ns: 1 })
    await postJson(app, '/metrics/checkout/latency', { latency_ns: [2, 3] })
    expect((await app.inject({ method: 'GET', url: '/metrics/Checkout' })).json()).toMatchObject({ id: 'Checkout', count: 1 })
    expect((await app.inject({ method: 'GET', url: '/metrics/checkout' })).json()).toMatchObject({ id: 'checkout', count: 2 })
  })

  it('percent-encoded allowed characters name the same id', async () => {
    const app = await build()
    await postJson(app, '/metrics/a%3Ab/latency', { latency_ns: 1 })
    await postJson(app, '/metrics/a:b/latency', { latency_ns: 2 })
    expect((await app.inject({ method: 'GET', url: '/metrics/a:b' })).json()).toMatchObject({ id: 'a:b', count: 2 })
  })

  // HTTP clients and app.inject resolve "." and ".." path segments away, so these
  // ids only arrive from a client that sends the path as is: use a real socket.
  it.each(['.', '..'])('%j is an ordinary id when the path is sent as is', async (id) => {
    const app = await build()
    const { port } = app.server.address() as AddressInfo
    const address = { hostname: '127.0.0.1', port }
    const send = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers: Record<string, string | number> =
          body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
        const req = request({ host: address.hostname, port: address.port, method, path, headers }, (res) => {
          let data = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (data += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }))
        })
        req.on('error', reject)
        req.end(body)
      })
    expect((await send('GET', `/metrics/${id}`)).status).toBe(404)
    expect((await send('POST', `/metrics/${id}/latency`, '{"latency_ns":[4,8]}')).status).toBe(202)
    expect((await send('POST', `/metrics/${id}/jobs`, '{"event":"created"}')).status).toBe(202)
    const read = await send('GET', `/metrics/${id}`)
    expect(read.status).toBe(200)
    expect(JSON.parse(read.body)).toMatchObject({ id, count: 2, min_ns: 4, max_ns: 8, jobs: { created: 1 } })
    const list = JSON.parse((await send('GET', '/metrics')).body)
    expect(list.metrics.map((m: { id: string }) => m.id)).toEqual([id])
    expect((await send('DELETE', `/metrics/${id}`)).status).toBe(204)
    expect((await send('GET', `/metrics/${id}`)).status).toBe(404)
  })
})

/** Disallowed ids as encoded path segments. */
const DISALLOWED: [string, string][] = [
  ['129 characters', 'a'.repeat(129)],
  ['129 characters of every class', (ALL_ALLOWED + ALL_ALLOWED).slice(0, 129)],
  ['a space', 'a%20b'],
  ['an encoded slash (%2F)', 'a%2Fb'],
  ['only an encoded slash', '%2F'],
  ['a hash (%23)', 'a%23b'],
  ['a percent sign (%25)', 'a%25b'],
  ['a question mark (%3F)', 'a%3Fb'],
  ['a plus', 'a+b'],
  ['a tilde', 'a~b'],
  ['an at sign', 'a@b'],
  ['a comma', 'a,b'],
  ['a semicolon', 'a;b'],
  ['an equals sign', 'a=b'],
  ['an exclamation mark', 'a!b'],
  ['an asterisk', 'a*b'],
  ['a dollar sign', 'a$b'],
  ['an ampersand', 'a&b'],
  ['an apostrophe', "a'b"],
  ['parentheses', 'a(b)'],
  ['brackets', 'a%5Bb%5D'],
  ['a backslash', 'a%5Cb'],
  ['a quote', 'a%22b'],
  ['a tab', 'a%09b'],
  ['a newline', 'a%0Ab'],
  ['a NUL', 'a%00b'],
  ['an accented letter (é)', 'caf%C3%A9'],
  ['a Cyrillic a', '%D0%B0'],
  ['a fullwidth A', '%EF%BC%A1'],
  ['an emoji', '%F0%9F%98%80'],
]

describe('metric ids that are not allowed', () => {
  it.each(DISALLOWED)('%s is 400 on every route and creates nothing', async (_name, seg) => {
    const app = await build()
    for (const route of ROUTES) {
      const res = await route.call(app, seg)
      expect400ForId(res)
    }
    const all = (await app.inject({ method: 'GET', url: '/metrics' })).json()
    expect(all.metrics).toEqual([])
    expect(all.service.metrics).toBe(0)
  })

  it('129 characters is 400 on every route even when the 128-character prefix exists', async () => {
    const app = await build()
    const id128 = 'k'.repeat(128)
    expect((await postJson(app, `/metrics/${id128}/latency`, { latency_ns: 1 })).statusCode).toBe(202)
    for (const route of ROUTES) expect400ForId(await route.call(app, id128 + 'k'))
    expect((await app.inject({ method: 'GET', url: `/metrics/${id128}` })).json()).toMatchObject({ count: 1 })
  })

  it('an empty id is 400 on every route (DELETE /metrics/ does not clear everything)', async () => {
    const app = await build()
    await postJson(app, '/metrics/keep/latency', { latency_ns: 1 })
    expect400ForId(await postJson(app, '/metrics//latency', { latency_ns: 5 }))
    expect400ForId(await postJson(app, '/metrics//jobs', { event: 'started' }))
    expect400ForId(await app.inject({ method: 'GET', url: '/metrics/' }))
    expect400ForId(await app.inject({ method: 'DELETE', url: '/metrics/' }))
    const all = (await app.inject({ method: 'GET', url: '/metrics' })).json()
    expect(all.metrics.map((m: { id: string }) => m.id)).toEqual(['keep'])
  })
})

const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__']

describe('ids named like Object.prototype members are ordinary ids', () => {
  it.each(PROTOTYPE_NAMES)('%s does not exist until created, then works on every route', async (id) => {
    const app = await build()
    expect((await app.inject({ method: 'DELETE', url: `/metrics/${id}` })).statusCode).toBe(404)
    await roundTrip(app, id)
  })

  it('all of them side by side: created, read, listed sorted and deleted independently', async () => {
    const app = await build()
    for (const [i, id] of PROTOTYPE_NAMES.entries()) {
      const values = Array.from({ length: i + 1 }, (_, k) => (k + 1) * 100)
      expect((await postJson(app, `/metrics/${id}/latency`, { latency_ns: values })).statusCode).toBe(202)
      expect((await postJson(app, `/metrics/${id}/jobs`, { event: 'created', count: i + 1 })).statusCode).toBe(202)
    }
    for (const [i, id] of PROTOTYPE_NAMES.entries()) {
      const snap = (await app.inject({ method: 'GET', url: `/metrics/${id}` })).json()
      expect(snap).toMatchObject({ id, count: i + 1, total: i + 1, max_ns: (i + 1) * 100, jobs: { created: i + 1 } })
    }
    const all = (await app.inject({ method: 'GET', url: '/metrics' })).json()
    expect(all.metrics.map((m: { id: string }) => m.id)).toEqual([...PROTOTYPE_NAMES].sort())
    expect(all.service.metrics).toBe(PROTOTYPE_NAMES.length)
    expect((await app.inject({ method: 'DELETE', url: '/metrics/__proto__' })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/metrics/__proto__' })).statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: '/metrics/constructor' })).json()).toMatchObject({ count: 2 })
    const after = (await app.inject({ method: 'GET', url: '/metrics' })).json()
    expect(after.metrics.map((m: { id: string }) => m.id)).toEqual(PROTOTYPE_NAMES.filter((id) => id !== '__proto__').sort())
  })
})
