import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'

const MAX = 3

function expect429(res: LightMyRequestResponse, id: string) {
  expect(res.statusCode, res.body).toBe(429)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json()
  expect(body).toMatchObject({ statusCode: 429, error: STATUS_CODES[429] })
  expect(body.message).toContain(id)
  expect(body.message).toMatch(/MAX_METRICS/)
}

async function ids(app: FastifyInstance): Promise<string[]> {
  return (await app.inject({ method: 'GET', url: '/metrics' })).json().metrics.map((m: { id: string }) => m.id)
}

async function full(): Promise<FastifyInstance> {
  const app = await build({ maxMetrics: MAX })
  expect((await postJson(app, '/metrics/a/latency', { latency_ns: 1 })).statusCode).toBe(202)
  expect((await postJson(app, '/metrics/b/jobs', { event: 'created' })).statusCode).toBe(202)
  expect((await postJson(app, '/metrics/c/latency', { latency_ns: [1, 2] })).statusCode).toBe(202)
  return app
}

describe('MAX_METRICS', () => {
  it('a new id past the limit is 429 on POST latency, and nothing is created or counted', async () => {
    const app = await full()
    expect429(await postJson(app, '/metrics/d/latency', { latency_ns: [5, 6, 7] }), 'd')
    expect((await app.inject({ method: 'GET', url: '/metrics/d' })).statusCode).toBe(404)
    expect(await ids(app)).toEqual(['a', 'b', 'c'])
    const service = (await app.inject({ method: 'GET', url: '/metrics' })).json().service
    expect(service.metrics).toBe(MAX)
    expect(service.samples_total).toBe(3)
  })

  it('a new id past the limit is 429 on POST jobs, and nothing is created', async () => {
    const app = await full()
    expect429(await postJson(app, '/metrics/d/jobs', { event: 'started', count: 4 }), 'd')
    expect((await app.inject({ method: 'GET', url: '/metrics/d' })).statusCode).toBe(404)
    expect(await ids(app)).toEqual(['a', 'b', 'c'])
  })

  it('stays 429 on repeated attempts with other new ids', async () => {
    const app = await full()
    for (const id of ['d', 'e', 'f', 'd']) expect429(await postJson(app, `/metrics/${id}/latency`, { latency_ns: 1 }), id)
    expect(await ids(app)).toEqual(['a', 'b', 'c'])
  })

  it('existing ids keep working on both routes while the store is full', async () => {
    const app = await full()
    const lat = await postJson(app, '/metrics/a/latency', { latency_ns: [10, 20] })
    expect(lat.statusCode).toBe(202)
    expect(lat.json()).toEqual({ accepted: 2 })
    expect((await postJson(app, '/metrics/a/jobs', { event: 'started' })).statusCode).toBe(202)
    expect((await postJson(app, '/metrics/b/latency', { latency_ns: 3 })).statusCode).toBe(202)
    expect((await postJson(app, '/metrics/c/jobs', { event: 'failed', count: 2 })).statusCode).toBe(202)
    expect((await app.inject({ method: 'GET', url: '/metrics/a' })).json()).toMatchObject({ count: 3, total: 3, jobs: { started: 1 } })
    expect((await app.inject({ method: 'GET', url: '/metrics/b' })).json()).toMatchObject({ count: 1, jobs: { created: 1 } })
    expect((await app.inject({ method: 'GET', url: '/metrics/c' })).json()).toMatchObject({ count: 2, jobs: { failed: 2 } })
  })

  it('after DELETE /metrics/:id a new id fits again, and only one', async () => {
    const app = await full()
    expect((await app.inject({ method: 'DELETE', url: '/metrics/b' })).statusCode).toBe(204)
    expect((await postJson(app, '/metrics/d/jobs', { event: 'created' })).statusCode).toBe(202)
    expect429(await postJson(app, '/metrics/e/latency', { latency_ns: 1 }), 'e')
    expect(await ids(app)).toEqual(['a', 'c', 'd'])
  })

  it('after DELETE /metrics, MAX new ids fit again', async () => {
    const app = await full()
    expect((await app.inject({ method: 'DELETE', url: '/metrics' })).statusCode).toBe(204)
    for (const id of ['x', 'y', 'z']) expect((await postJson(app, `/metrics/${id}/latency`, { latency_ns: 1 })).statusCode).toBe(202)
    expect429(await postJson(app, '/metrics/w/jobs', { event: 'created' }), 'w')
    expect(await ids(app)).toEqual(['x', 'y', 'z'])
  })

  it('a 429 is counted as a 4xx response', async () => {
    const app = await full()
    const before = (await app.inject({ method: 'GET', url: '/metrics' })).json().service.requests['4xx']
    await postJson(app, '/metrics/d/latency', { latency_ns: 1 })
    const after = (await app.inject({ method: 'GET', url: '/metrics' })).json().service.requests['4xx']
    expect(after).toBe(before + 1)
  })
})
