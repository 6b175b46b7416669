import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'

/** Keeps the event loop busy in 200 ms stretches, as a saturated service would. */
function blockEventLoop(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // busy
  }
}
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('overload', () => {
  it('answers 503 with Retry-After while the event loop is saturated, and /healthz says degraded', async () => {
    const app = await build({ maxEventLoopDelayMs: 20 })
    // On a loaded machine even this first write may meet an overloaded loop: write until stored.
    for (let i = 0; i < 40 && (await postJson(app, '/metrics/a/latency', { latency_ns: 5 })).statusCode !== 202; i++) {
      await new Promise((r) => setTimeout(r, 100))
    }
    let health, write
    let accepted = 1
    // The overload monitor samples the loop delay every 250 ms; block until a sample sees it (bounded).
    for (let i = 0; i < 25; i++) {
      blockEventLoop(200)
      await turn()
      ;[health, write] = await Promise.all([app.inject({ method: 'GET', url: '/healthz' }), postJson(app, '/metrics/a/latency', { latency_ns: 7 })])
      if (write.statusCode === 202) accepted++
      if (health.statusCode === 503) break
    }
    if (health === undefined || write === undefined) throw new Error('the loop above ran at least once')
    expect(health.statusCode).toBe(503)
    expect(health.json()).toEqual({ status: 'degraded' })
    expect(health.headers['retry-after']).toBeDefined()
    expect(write.statusCode).toBe(503)
    expect(Number(write.headers['retry-after'])).toBeGreaterThan(0)
    expect(write.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' })

    // Once the loop is idle again the service recovers on its own.
    let recovered
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 100))
      recovered = await app.inject({ method: 'GET', url: '/healthz' })
      if (recovered.statusCode === 200) break
    }
    if (recovered === undefined) throw new Error('the loop above ran at least once')
    expect(recovered.json()).toEqual({ status: 'ok' })
    // A loaded machine can push the loop over 20 ms again for a moment: read until answered.
    let read = await app.inject({ method: 'GET', url: '/metrics/a' })
    for (let i = 0; i < 40 && read.statusCode === 503; i++) {
      await new Promise((r) => setTimeout(r, 100))
      read = await app.inject({ method: 'GET', url: '/metrics/a' })
    }
    const snapshot = read.json()
    // Writes answered 202 are stored, refused ones are not.
    expect(snapshot.total).toBe(accepted)
  })

  it('never refuses when MAX_EVENT_LOOP_DELAY_MS is 0', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    for (let i = 0; i < 4; i++) {
      blockEventLoop(200)
      await turn()
      await new Promise((r) => setTimeout(r, 260))
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
      expect((await postJson(app, '/metrics/a/latency', { latency_ns: 5 })).statusCode).toBe(202)
    }
  })
})
