import { STATUS_CODES } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'
import { manualClock } from './reference.js'

const WINDOW_MS = 60_000

async function list(app: FastifyInstance, query = '') {
  const res = await app.inject({ method: 'GET', url: `/metrics${query}` })
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

describe('GET /metrics', () => {
  it('has exactly {window_ms, metrics, service}, with the service fields of the contract', async () => {
    const app = await build()
    const body = await list(app)
    expect(Object.keys(body).sort()).toEqual(['metrics', 'service', 'window_ms'])
    expect(body.window_ms).toBe(WINDOW_MS)
    expect(body.metrics).toEqual([])
    const { service } = body
    // The contract's four fields (the service may report more).
    expect(Object.keys(service)).toEqual(expect.arrayContaining(['metrics', 'requests', 'samples_total', 'uptime_s']))
    expect(typeof service.uptime_s).toBe('number')
    expect(service.uptime_s).toBeGreaterThanOrEqual(0)
    expect(service.metrics).toBe(0)
    expect(service.samples_total).toBe(0)
    expect(Object.keys(service.requests).sort()).toEqual(['2xx', '3xx', '4xx', '5xx', 'in_flight', 'total'].sort())
    for (const v of Object.values(service.requests)) expect(Number.isInteger(v)).toBe(true)
  })

  it('lists every snapshot sorted by id, each equal to GET /metrics/:id', async () => {
    const app = await build({ now: manualClock().now })
    const ids = ['b', 'a', 'A', 'Z9', '_x', '0', '.hidden', 'a-b', 'a.b', 'a:b', 'a_b', 'aa', 'B']
    for (const [i, id] of ids.entries()) {
      await postJson(app, `/metrics/${id}/latency`, { latency_ns: [i + 1, (i + 1) * 10] })
      if (i % 3 === 0) await postJson(app, `/metrics/${id}/jobs`, { event: 'started', count: i + 1 })
    }
    const body = await list(app)
    const listed = body.metrics.map((m: { id: string }) => m.id)
    // Plain code-unit order, as Array.prototype.sort gives.
    expect(listed).toEqual([...ids].sort())
    for (const snap of body.metrics) {
      const one = await app.inject({ method: 'GET', url: `/metrics/${snap.id}` })
      expect(snap).toEqual(one.json())
    }
    expect(body.service.metrics).toBe(ids.length)
  })

  it('includes metrics created by jobs only, with null statistics', async () => {
    const app = await build()
    await postJson(app, '/metrics/worker/jobs', { event: 'created' })
    const body = await list(app)
    expect(body.metrics).toHaveLength(1)
    expect(body.metrics[0]).toMatchObject({ id: 'worker', count: 0, total: 0, min_ns: null, p99_ns: null })
  })

  it('applies ?window_ms and ?quantiles to every snapshot', async () => {
    const clock = manualClock()
    const app = await build({ now: clock.now })
    await postJson(app, '/metrics/a/latency', { latency_ns: [1000, 2000] })
    await postJson(app, '/metrics/b/latency', { latency_ns: [5] })
    clock.advance(1_000)
    await postJson(app, '/metrics/a/latency', { latency_ns: [10, 20, 30, 40] })
    const body = await list(app, '?window_ms=1000&quantiles=0.25,1')
    expect(body.window_ms).toBe(1000)
    const [a, b] = body.metrics
    expect(a).toMatchObject({ id: 'a', window_ms: 1000, count: 4, total: 6, min_ns: 10, max_ns: 40 })
    expect(a.quantiles).toEqual({ '0.25': 10, '1': 40 })
    expect(b).toMatchObject({ id: 'b', window_ms: 1000, count: 0, total: 1, min_ns: null })
    expect(b.quantiles).toEqual({ '0.25': null, '1': null })
    // Without the parameters, the full window and no quantiles.
    const full = await list(app)
    expect(full.metrics[0]).toMatchObject({ window_ms: WINDOW_MS, count: 6 })
    expect(full.metrics[0]).not.toHaveProperty('quantiles')
  })

  it.each([
    ['window_ms=0', /window_ms/],
    [`window_ms=${WINDOW_MS + 1}`, /window_ms/],
    ['window_ms=abc', /window_ms/],
    ['window_ms=1&window_ms=2', /window_ms/],
    ['quantiles=0', /quantile/],
    ['quantiles=1.5', /quantile/],
    ['quantiles=', /quantile/],
    ['quantiles=x', /quantile/],
  ])('?%s is a 400 JSON error', async (query, message) => {
    const app = await build()
    await postJson(app, '/metrics/a/latency', { latency_ns: 1 })
    const res = await app.inject({ method: 'GET', url: `/metrics?${query}` })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ statusCode: 400, error: STATUS_CODES[400] })
    expect(res.json().message).toMatch(message)
  })
})

describe('GET /metrics service counters', () => {
  it('samples_total counts accepted samples only, and deletes do not lower it', async () => {
    const app = await build()
    await postJson(app, '/metrics/a/latency', { latency_ns: [1, 2, 3] })
    await postJson(app, '/metrics/b/latency', { latency_ns: 4 })
    await postJson(app, '/metrics/b/latency', { latency_ns: [5, 0] }) // 400: nothing accepted
    await postJson(app, '/metrics/b/jobs', { event: 'started', count: 50 }) // jobs are not samples
    expect((await list(app)).service.samples_total).toBe(4)
    await app.inject({ method: 'DELETE', url: '/metrics/a' })
    let service = (await list(app)).service
    expect(service.samples_total).toBe(4)
    expect(service.metrics).toBe(1)
    await app.inject({ method: 'DELETE', url: '/metrics' })
    service = (await list(app)).service
    expect(service.samples_total).toBe(4)
    expect(service.metrics).toBe(0)
    await postJson(app, '/metrics/a/latency', { latency_ns: [7, 8] })
    expect((await list(app)).service.samples_total).toBe(6)
  })

  it('samples_total counts samples that have left the ring or the window', async () => {
    const clock = manualClock()
    const app = await build({ maxSamples: 2, now: clock.now })
    await postJson(app, '/metrics/a/latency', { latency_ns: [1, 2, 3, 4, 5] })
    clock.advance(WINDOW_MS)
    const body = await list(app)
    expect(body.metrics[0]).toMatchObject({ count: 0, total: 5 })
    expect(body.service.samples_total).toBe(5)
  })

  it('a fresh service reports no responses sent yet and its own request in flight', async () => {
    const app = await build()
    expect((await list(app)).service.requests).toEqual({ total: 0, in_flight: 1, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 })
  })

  it('requests count responses already sent, by status class', async () => {
    const app = await build()
    await postJson(app, '/metrics/a/latency', { latency_ns: 5 }) // 202
    await postJson(app, '/metrics/a/jobs', { event: 'started' }) // 202
    await app.inject({ method: 'GET', url: '/metrics/a' }) // 200
    await app.inject({ method: 'GET', url: '/healthz' }) // 200
    await app.inject({ method: 'GET', url: '/metrics/missing' }) // 404
    await postJson(app, '/metrics/a/latency', { latency_ns: 0 }) // 400
    await app.inject({ method: 'POST', url: '/metrics/a/latency', headers: { 'content-type': 'text/plain' }, payload: 'x' }) // 415
    await app.inject({ method: 'GET', url: '/no/such/route' }) // 404
    await app.inject({ method: 'DELETE', url: '/metrics/a' }) // 204
    const first = (await list(app)).service.requests
    expect(first).toEqual({ total: 9, in_flight: 1, '2xx': 5, '3xx': 0, '4xx': 4, '5xx': 0 })
    // The GET /metrics just answered is now a sent 2xx response too.
    const second = (await list(app)).service.requests
    expect(second).toEqual({ total: 10, in_flight: 1, '2xx': 6, '3xx': 0, '4xx': 4, '5xx': 0 })
  })

  it('in_flight includes every request not yet answered, so it is >= 1 in each response', async () => {
    const app = await build()
    const responses = await Promise.all(Array.from({ length: 8 }, () => list(app)))
    for (const body of responses) {
      const r = body.service.requests
      expect(r.in_flight).toBeGreaterThanOrEqual(1)
      expect(r.in_flight).toBeLessThanOrEqual(8)
      expect(r.total).toBe(r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'])
    }
    // Once they are all answered, nothing but the current request is in flight.
    const after = (await list(app)).service.requests
    expect(after).toMatchObject({ total: 8, in_flight: 1, '2xx': 8 })
  })

  it('uptime_s does not go backwards', async () => {
    const app = await build()
    const first = (await list(app)).service.uptime_s
    const second = (await list(app)).service.uptime_s
    expect(second).toBeGreaterThanOrEqual(first)
  })
})

describe('GET /metrics request counters: URLs the router rejects', () => {
  it('counts a malformed percent-encoded path as a 4xx response, answered in the JSON error shape', async () => {
    const app = await build()
    const bad = await app.inject({ method: 'GET', url: '/metrics/%zz' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' })
    expect(bad.json().message).toEqual(expect.any(String))
    const { requests } = (await app.inject({ method: 'GET', url: '/metrics' })).json().service
    expect(requests.total).toBe(1)
    expect(requests['4xx']).toBe(1)
  })
})
