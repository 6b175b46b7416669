import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, expectError, postJson, postJsonText } from './helper.js'

const EVENTS = ['created', 'started', 'completed', 'failed', 'retried'] as const
type Event = (typeof EVENTS)[number]
type Counts = Record<Event, number>

const ZERO: Counts = { created: 0, started: 0, completed: 0, failed: 0, retried: 0 }

function postRaw(app: FastifyInstance, id: string, payload: string) {
  return postJsonText(app, `/metrics/${id}/jobs`, payload)
}

async function jobs(app: FastifyInstance, id: string) {
  const res = await app.inject({ method: 'GET', url: `/metrics/${id}` })
  expect(res.statusCode).toBe(200)
  return res.json().jobs
}

/** The contract's in_progress, written out. */
function expectedJobs(c: Counts) {
  return { ...c, in_progress: Math.max(0, c.started - c.completed - c.failed) }
}

describe('POST /metrics/:id/jobs accepts', () => {
  it.each(EVENTS)('event "%s": 202 {"accepted":1} and only that counter moves', async (event) => {
    const app = await build()
    const res = await postJson(app, '/metrics/w/jobs', { event })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({ accepted: 1 })
    expect(await jobs(app, 'w')).toEqual(expectedJobs({ ...ZERO, [event]: 1 }))
  })

  it('count defaults to 1 and explicit counts add up', async () => {
    const app = await build()
    await postJson(app, '/metrics/w/jobs', { event: 'created' })
    await postJson(app, '/metrics/w/jobs', { event: 'created', count: 1 })
    const res = await postJson(app, '/metrics/w/jobs', { event: 'created', count: 40 })
    expect(res.json()).toEqual({ accepted: 40 })
    expect((await jobs(app, 'w')).created).toBe(42)
  })

  it('count bounds 1 and 1,000,000 are accepted', async () => {
    const app = await build()
    const low = await postJson(app, '/metrics/w/jobs', { event: 'retried', count: 1 })
    expect(low.statusCode).toBe(202)
    expect(low.json()).toEqual({ accepted: 1 })
    const high = await postJson(app, '/metrics/w/jobs', { event: 'retried', count: 1_000_000 })
    expect(high.statusCode).toBe(202)
    expect(high.json()).toEqual({ accepted: 1_000_000 })
    expect((await jobs(app, 'w')).retried).toBe(1_000_001)
  })

  it('creates the metric on first use, with no latency samples', async () => {
    const app = await build()
    expect((await app.inject({ method: 'GET', url: '/metrics/w' })).statusCode).toBe(404)
    await postJson(app, '/metrics/w/jobs', { event: 'started' })
    const snap = (await app.inject({ method: 'GET', url: '/metrics/w' })).json()
    expect(snap).toMatchObject({ id: 'w', count: 0, total: 0, min_ns: null, p50_ns: null })
  })

  it('job counters and latency samples of one id are independent', async () => {
    const app = await build()
    await postJson(app, '/metrics/w/latency', { latency_ns: [5, 6] })
    await postJson(app, '/metrics/w/jobs', { event: 'completed', count: 7 })
    const snap = (await app.inject({ method: 'GET', url: '/metrics/w' })).json()
    expect(snap).toMatchObject({ count: 2, total: 2, min_ns: 5, max_ns: 6 })
    expect(snap.jobs).toEqual(expectedJobs({ ...ZERO, completed: 7 }))
  })
})

describe('in_progress = max(0, started − completed − failed)', () => {
  it('follows a sequence of events, clamping at 0', async () => {
    const app = await build()
    const counts: Counts = { ...ZERO }
    const steps: [Event, number][] = [
      ['created', 10],
      ['started', 5],
      ['retried', 2], // retried and created do not change in_progress
      ['completed', 2],
      ['failed', 1], // 5 − 2 − 1 = 2
      ['completed', 2], // 5 − 4 − 1 = 0
      ['failed', 3], // 5 − 4 − 4 = −3 → 0
      ['started', 2], // 7 − 4 − 4 = −1 → 0
      ['started', 4], // 11 − 8 = 3
    ]
    const seen: number[] = []
    for (const [event, count] of steps) {
      expect((await postJson(app, '/metrics/w/jobs', { event, count })).statusCode).toBe(202)
      counts[event] += count
      const got = await jobs(app, 'w')
      expect(got).toEqual(expectedJobs(counts))
      seen.push(got.in_progress)
    }
    expect(seen).toEqual([0, 5, 5, 3, 2, 0, 0, 0, 3])
  })

  it('is 0, not negative, when only completions and failures arrive', async () => {
    const app = await build()
    await postJson(app, '/metrics/w/jobs', { event: 'completed', count: 3 })
    await postJson(app, '/metrics/w/jobs', { event: 'failed', count: 2 })
    expect(await jobs(app, 'w')).toEqual({ ...ZERO, completed: 3, failed: 2, in_progress: 0 })
  })
})

/** Bad job bodies, with what the error message must name. */
const BAD_BODIES: { name: string; payload: string; message: RegExp }[] = [
  { name: 'an unknown event', payload: '{"event":"finished"}', message: /event.*created, started, completed, failed, retried/ },
  { name: 'an event in the wrong case', payload: '{"event":"Started"}', message: /event/ },
  { name: 'an empty event', payload: '{"event":""}', message: /event/ },
  { name: 'a numeric event', payload: '{"event":1}', message: /event/ },
  { name: 'a null event', payload: '{"event":null}', message: /event/ },
  { name: 'an array of events', payload: '{"event":["started"]}', message: /event/ },
  { name: 'a missing event', payload: '{"count":3}', message: /event/ },
  { name: 'count 0', payload: '{"event":"started","count":0}', message: /count.*>= 1/ },
  { name: 'a negative count', payload: '{"event":"started","count":-1}', message: /count.*>= 1/ },
  { name: 'count 1,000,001', payload: '{"event":"started","count":1000001}', message: /count.*<= 1000000/ },
  { name: 'a fractional count', payload: '{"event":"started","count":1.5}', message: /count.*integer/ },
  { name: 'count as the string "5" (no coercion)', payload: '{"event":"started","count":"5"}', message: /count.*integer/ },
  { name: 'a null count', payload: '{"event":"started","count":null}', message: /count/ },
  { name: 'a boolean count', payload: '{"event":"started","count":true}', message: /count/ },
  { name: 'an extra field', payload: '{"event":"started","job_id":"x"}', message: /additional propert/ },
  { name: 'null as the body', payload: 'null', message: /body must be object/ },
  { name: 'an array as the body', payload: '[{"event":"started"}]', message: /body must be object/ },
  { name: 'invalid JSON', payload: '{"event":"started"', message: /JSON/i },
  { name: 'an empty body', payload: '', message: /empty|JSON/i },
]

describe('POST /metrics/:id/jobs rejects with 400', () => {
  it.each(BAD_BODIES)('$name: creates nothing', async ({ payload, message }) => {
    const app = await build()
    expect(expectError(await postRaw(app, 'w', payload), 400)).toMatch(message)
    expect((await app.inject({ method: 'GET', url: '/metrics/w' })).statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json().service.metrics).toBe(0)
  })

  it.each(BAD_BODIES)('$name: leaves an existing metric unchanged', async ({ payload, message }) => {
    const app = await build()
    await postJson(app, '/metrics/w/jobs', { event: 'started', count: 4 })
    const before = (await app.inject({ method: 'GET', url: '/metrics/w' })).json()
    expect(expectError(await postRaw(app, 'w', payload), 400)).toMatch(message)
    expect((await app.inject({ method: 'GET', url: '/metrics/w' })).json()).toEqual(before)
  })
})
