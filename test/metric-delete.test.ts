import { STATUS_CODES } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'

const NO_JOBS = { created: 0, started: 0, completed: 0, failed: 0, retried: 0, in_progress: 0 }

async function seed(app: FastifyInstance, id: string) {
  expect((await postJson(app, `/metrics/${id}/latency`, { latency_ns: [100, 200, 300] })).statusCode).toBe(202)
  expect((await postJson(app, `/metrics/${id}/jobs`, { event: 'started', count: 5 })).statusCode).toBe(202)
  expect((await postJson(app, `/metrics/${id}/jobs`, { event: 'failed', count: 2 })).statusCode).toBe(202)
}

function del(app: FastifyInstance, url: string) {
  return app.inject({ method: 'DELETE', url })
}

async function status(app: FastifyInstance, id: string) {
  return (await app.inject({ method: 'GET', url: `/metrics/${id}` })).statusCode
}

async function listing(app: FastifyInstance) {
  return (await app.inject({ method: 'GET', url: '/metrics' })).json()
}

describe('DELETE /metrics/:id', () => {
  it('answers 204 with no body; the id is then 404 and gone from the list', async () => {
    const app = await build()
    await seed(app, 'a')
    await seed(app, 'b')
    const res = await del(app, '/metrics/a')
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect(await status(app, 'a')).toBe(404)
    const all = await listing(app)
    expect(all.metrics.map((m: { id: string }) => m.id)).toEqual(['b'])
    expect(all.service.metrics).toBe(1)
  })

  it('leaves other metrics untouched', async () => {
    const app = await build()
    await seed(app, 'a')
    await seed(app, 'b')
    const before = (await app.inject({ method: 'GET', url: '/metrics/b' })).json()
    await del(app, '/metrics/a')
    expect((await app.inject({ method: 'GET', url: '/metrics/b' })).json()).toEqual(before)
  })

  it('is 404 (JSON, naming the id) for an id that does not exist', async () => {
    const app = await build()
    await seed(app, 'a')
    const res = await del(app, '/metrics/nope')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ statusCode: 404, error: STATUS_CODES[404] })
    expect(res.json().message).toContain('nope')
    expect(await status(app, 'a')).toBe(200)
  })

  it('is 404 the second time', async () => {
    const app = await build()
    await seed(app, 'a')
    expect((await del(app, '/metrics/a')).statusCode).toBe(204)
    expect((await del(app, '/metrics/a')).statusCode).toBe(404)
  })

  it('a re-created id starts from zero: samples, total and job counters', async () => {
    const app = await build()
    await seed(app, 'a')
    await del(app, '/metrics/a')
    await postJson(app, '/metrics/a/latency', { latency_ns: 7 })
    const snap = (await app.inject({ method: 'GET', url: '/metrics/a' })).json()
    expect(snap).toMatchObject({ count: 1, total: 1, min_ns: 7, max_ns: 7, mean_ns: 7, p99_ns: 7 })
    expect(snap.jobs).toEqual(NO_JOBS)
  })

  it('a re-created id via jobs has no samples from before', async () => {
    const app = await build()
    await seed(app, 'a')
    await del(app, '/metrics/a')
    await postJson(app, '/metrics/a/jobs', { event: 'completed' })
    const snap = (await app.inject({ method: 'GET', url: '/metrics/a' })).json()
    expect(snap).toMatchObject({ count: 0, total: 0, min_ns: null, p50_ns: null })
    expect(snap.jobs).toEqual({ ...NO_JOBS, completed: 1 })
  })
})

describe('DELETE /metrics', () => {
  it('answers 204 with no body and removes every metric', async () => {
    const app = await build()
    for (const id of ['a', 'b', 'c']) await seed(app, id)
    const res = await del(app, '/metrics')
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    for (const id of ['a', 'b', 'c']) expect(await status(app, id)).toBe(404)
    const all = await listing(app)
    expect(all.metrics).toEqual([])
    expect(all.service.metrics).toBe(0)
  })

  it('is 204 on an empty store too', async () => {
    const app = await build()
    expect((await del(app, '/metrics')).statusCode).toBe(204)
    expect((await listing(app)).metrics).toEqual([])
  })

  it('does not reset the service counters or uptime', async () => {
    const app = await build()
    for (const id of ['a', 'b']) await seed(app, id)
    await app.inject({ method: 'GET', url: '/metrics/missing' }) // a 4xx to keep
    const before = (await listing(app)).service
    expect(before.samples_total).toBe(6)
    await del(app, '/metrics')
    const after = (await listing(app)).service
    expect(after.samples_total).toBe(6)
    expect(after.uptime_s).toBeGreaterThanOrEqual(before.uptime_s)
    // Every response counted before is still counted, plus the GET /metrics and the DELETE since.
    expect(after.requests.total).toBe(before.requests.total + 2)
    expect(after.requests['2xx']).toBe(before.requests['2xx'] + 2)
    expect(after.requests['4xx']).toBe(before.requests['4xx'])
    expect(after.requests['4xx']).toBeGreaterThanOrEqual(1)
  })

  it('re-created ids start from zero', async () => {
    const app = await build()
    await seed(app, 'a')
    await del(app, '/metrics')
    await postJson(app, '/metrics/a/latency', { latency_ns: [9, 10] })
    const snap = (await app.inject({ method: 'GET', url: '/metrics/a' })).json()
    expect(snap).toMatchObject({ count: 2, total: 2, min_ns: 9, max_ns: 10 })
    expect(snap.jobs).toEqual(NO_JOBS)
  })
})

describe('DELETE from clients that always send Content-Type: application/json', () => {
  it('deletes one id and all ids even with the header and no body', async () => {
    const app = await build()
    await postJson(app, '/metrics/a/latency', { latency_ns: 5 })
    await postJson(app, '/metrics/b/latency', { latency_ns: 5 })
    const headers = { 'content-type': 'application/json' }
    expect((await app.inject({ method: 'DELETE', url: '/metrics/a', headers })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/metrics/a' })).statusCode).toBe(404)
    expect((await app.inject({ method: 'DELETE', url: '/metrics', headers })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json().metrics).toEqual([])
  })
})
