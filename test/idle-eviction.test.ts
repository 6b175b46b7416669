import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { MetricStore } from '../src/store/metric-store.js'
import { build, postJson } from './helper.js'
import { manualClock } from './reference.js'

describe('idle eviction', () => {
  it('evictIdle removes exactly the metrics with no write for the TTL and counts them', () => {
    const clock = manualClock()
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 10, windowMs: 60_000, now: clock.now })
    store.recordLatency(store.acquire('latency-only')!, 5)
    store.recordJob(store.acquire('jobs-only')!, 'started', 1)
    store.acquire('created-only')
    clock.advance(600)
    store.recordLatency(store.acquire('latency-only')!, 6)
    clock.advance(400)
    // created-only and jobs-only are 1000 ms idle (= TTL): evicted; latency-only wrote 400 ms ago.
    expect(store.evictIdle(1_000)).toBe(2)
    expect(store.get('latency-only')).toBeDefined()
    expect(store.get('jobs-only')).toBeUndefined()
    expect(store.get('created-only')).toBeUndefined()
    expect(store.service.evictedTotal).toBe(2)
    expect(store.evictIdle(1_000)).toBe(0)
  })

  it('sweeps in the background and reports evictions in service', async () => {
    const clock = manualClock()
    const app = await build({ idleTtlMs: 400, now: clock.now })
    await postJson(app, '/metrics/stale/latency', { latency_ns: 5 })
    await postJson(app, '/metrics/fresh/latency', { latency_ns: 5 })
    clock.advance(300)
    await postJson(app, '/metrics/fresh/jobs', { event: 'started' })
    clock.advance(200)
    // The sweep runs every TTL/4 (100 ms) of real time; give it a bounded number of chances.
    let body: { metrics: { id: string }[]; service: { evicted_total: number; limits: { idle_ttl_ms: number } } } | undefined
    for (let i = 0; i < 50; i++) {
      await sleep(50)
      body = (await app.inject({ method: 'GET', url: '/metrics' })).json()
      if (body!.service.evicted_total > 0) break
    }
    expect(body!.metrics.map((m) => m.id)).toEqual(['fresh'])
    expect(body!.service.evicted_total).toBe(1)
    expect(body!.service.limits.idle_ttl_ms).toBe(400)
    expect((await app.inject({ method: 'GET', url: '/metrics/stale' })).statusCode).toBe(404)
  })

  it('keeps idle metrics when the TTL is 0', async () => {
    const clock = manualClock()
    const app = await build({ idleTtlMs: 0, now: clock.now })
    await postJson(app, '/metrics/a/latency', { latency_ns: 5 })
    clock.advance(1e12)
    await sleep(150)
    expect((await app.inject({ method: 'GET', url: '/metrics/a' })).statusCode).toBe(200)
  })
})
