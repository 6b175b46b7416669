import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, expectError, postJson } from './helper.js'

/** Both write routes, each with a body it accepts when sent as application/json. */
const ROUTES = [
  { route: 'latency', body: '{"latency_ns":1500}', accepted: 1 },
  { route: 'jobs', body: '{"event":"started","count":3}', accepted: 3 },
] as const

function post(app: FastifyInstance, id: string, route: string, headers: Record<string, string>, payload?: string) {
  return app.inject({ method: 'POST', url: `/metrics/${id}/${route}`, headers, ...(payload === undefined ? {} : { payload }) })
}

/** Media types the contract refuses with 415, sent with a body that would be valid JSON. */
const REFUSED = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/jsonx',
  'application/vnd.api+json',
  'text/json',
  'application/xml',
]

/** Spellings of application/json the contract accepts (parameters allowed, type case-insensitive). */
const ACCEPTED = ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON']

describe.each(ROUTES)('POST /metrics/:id/$route content type', ({ route, body, accepted }) => {
  it.each(REFUSED)('%s is 415, naming the content type, and creates nothing', async (contentType) => {
    const app = await build()
    const res = await post(app, 'm', route, { 'content-type': contentType }, body)
    expect(expectError(res, 415)).toContain(contentType)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
  })

  it('text/plain without a body is 415 (not 400)', async () => {
    const app = await build()
    expectError(await post(app, 'm', route, { 'content-type': 'text/plain' }), 415)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
  })

  it('no Content-Type with a JSON body is 415 and creates nothing', async () => {
    const app = await build()
    const res = await post(app, 'm', route, {}, body)
    expect(res.raw.req.headers['content-type']).toBeUndefined()
    expect(expectError(res, 415)).toMatch(/content-type/i)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
  })

  it('no Content-Type and no body is 415 (not 400) and creates nothing', async () => {
    const app = await build()
    const res = await post(app, 'm', route, {})
    expect(res.raw.req.headers['content-type']).toBeUndefined()
    expect(expectError(res, 415)).toMatch(/content-type/i)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
  })

  it('a 415 leaves an existing metric unchanged', async () => {
    const app = await build()
    expect((await post(app, 'm', route, { 'content-type': 'application/json' }, body)).statusCode).toBe(202)
    const before = (await app.inject({ method: 'GET', url: '/metrics/m' })).json()
    expectError(await post(app, 'm', route, { 'content-type': 'text/plain' }, body), 415)
    expectError(await post(app, 'm', route, { 'content-type': 'application/x-www-form-urlencoded' }, body), 415)
    expectError(await post(app, 'm', route, {}, body), 415)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).json()).toEqual(before)
  })

  it.each(ACCEPTED)('%s is accepted (202) and stored', async (contentType) => {
    const app = await build()
    const res = await post(app, 'm', route, { 'content-type': contentType }, body)
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json()).toEqual({ accepted })
    const snap = (await app.inject({ method: 'GET', url: '/metrics/m' })).json()
    if (route === 'latency') expect(snap).toMatchObject({ count: 1, total: 1, min_ns: 1500 })
    else expect(snap.jobs).toMatchObject({ started: 3 })
  })
})

describe('content type on the samples counter', () => {
  it('415s do not count as accepted samples', async () => {
    const app = await build()
    await post(app, 'm', 'latency', { 'content-type': 'text/plain' }, '{"latency_ns":[1,2,3]}')
    await post(app, 'm', 'latency', {}, '{"latency_ns":[1,2,3]}')
    await postJson(app, '/metrics/m/latency', { latency_ns: 9 })
    const service = (await app.inject({ method: 'GET', url: '/metrics' })).json().service
    expect(service.samples_total).toBe(1)
  })
})

describe('a POST without Content-Type elsewhere', () => {
  it('to an unknown path is 404, and to a path without POST 405: only POST routes need a body', async () => {
    const app = await build()
    expectError(await app.inject({ method: 'POST', url: '/nope' }), 404)
    const res = await app.inject({ method: 'POST', url: '/metrics' })
    expectError(res, 405)
    expect(res.headers.allow).toBe('DELETE, GET, HEAD')
  })
})

describe('a body without Content-Type on a route that takes none', () => {
  it('DELETE /metrics/:id with a body is 415 saying the content-type is missing, and deletes nothing', async () => {
    const app = await build()
    await postJson(app, '/metrics/m/latency', { latency_ns: 9 })
    const res = await app.inject({ method: 'DELETE', url: '/metrics/m', payload: 'x' })
    expect(res.raw.req.headers['content-type']).toBeUndefined()
    const message = expectError(res, 415)
    expect(message).toMatch(/without content-type/)
    expect(message).not.toMatch(/undefined/)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(200)
  })

  it('DELETE /metrics with a body that is not JSON is 400 LT_INVALID_JSON (as its OpenAPI says), and deletes nothing', async () => {
    const app = await build()
    await postJson(app, '/metrics/m/latency', { latency_ns: 9 })
    const res = await app.inject({ method: 'DELETE', url: '/metrics', headers: { 'content-type': 'application/json' }, payload: 'garbage' })
    expectError(res, 400)
    expect(res.json().code).toBe('LT_INVALID_JSON')
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(200)
  })
})
