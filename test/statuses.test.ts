import type { FastifyInstance } from 'fastify'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { IngestRefusal } from '../src/store/ingest.js'
import { MetricStore, type MetricSnapshot } from '../src/store/metric-store.js'
import { build, expectError, postJson } from './helper.js'
import { type RefReadOptions, type TimedStatusSample, alignMean, inWindow, isValidStatusTermRef, manualClock, refStats } from './reference.js'
import {
  CLOCK_START,
  type Write,
  latencyArb,
  quantileArb,
  readOptions,
  replayIntoStore,
  replayOverHttp,
  statusTermsArb,
  thresholdArb,
  writeArb,
  writesArb,
} from './status-writes.js'

// Statuses per sample (issue 11): writing them, and reading statuses, errors,
// error_rate, ?status= filters and ?le_ns= shares, against the sort-based
// reference (reference.ts) on random data, plus the edges and every bad input.

const WINDOW_MS = 60_000
const STATS = ['min_ns', 'max_ns', 'mean_ns', 'p50_ns', 'p95_ns', 'p99_ns'] as const

/** One read of a property run: how far the clock moves first, then the query. */
interface Read extends RefReadOptions {
  advanceMs: number
  windowMs: number
}

const readArb: fc.Arbitrary<Read> = fc.record({
  advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: WINDOW_MS })),
  windowMs: fc.oneof(fc.constant(WINDOW_MS), fc.constant(1), fc.integer({ min: 1, max: WINDOW_MS })),
  status: fc.option(statusTermsArb, { nil: undefined }),
  quantiles: fc.option(fc.array(quantileArb, { minLength: 1, maxLength: 5 }), { nil: undefined }),
  le: fc.option(fc.array(thresholdArb, { minLength: 1, maxLength: 8 }), { nil: undefined }),
})

/**
 * The read's thresholds plus ones the data makes interesting: below the
 * smallest value, equal to the smallest and the largest, above the largest
 * (those within 1..2^53-1); at most 16 distinct, as the contract allows.
 */
function withDataThresholds(read: Read, samples: readonly TimedStatusSample[]): Read {
  if (read.le === undefined || samples.length === 0) return read
  const values = samples.map((s) => s.value)
  const min = Math.min(...values)
  const max = Math.max(...values)
  const extra = [min - 1, min, max, max + 1].filter((t) => t >= 1 && t <= Number.MAX_SAFE_INTEGER).map(String)
  return { ...read, le: [...new Set([...read.le, ...extra])].slice(0, 16) }
}

/** The same read as a query string. */
function queryOf(read: Read): string {
  const params = [`window_ms=${read.windowMs}`]
  if (read.status !== undefined) params.push(`status=${read.status.join(',')}`)
  if (read.quantiles !== undefined) params.push(`quantiles=${read.quantiles.join(',')}`)
  if (read.le !== undefined) params.push(`le_ns=${read.le.join(',')}`)
  return params.join('&')
}

/** The windowed fields of a snapshot (everything but id, window_ms, total and jobs), to compare with refStats. */
function windowed(snap: MetricSnapshot | Record<string, unknown>) {
  const { id: _id, window_ms: _w, total: _t, jobs: _j, ...rest } = snap as Record<string, unknown>
  return rest
}

/** Asserts a snapshot's windowed fields against the reference over the samples the ring still holds. */
function expectLikeReference(snap: MetricSnapshot, kept: readonly TimedStatusSample[], now: number, read: Read) {
  const want = refStats(inWindow(kept, now, read.windowMs), read)
  expect(alignMean(windowed(snap), want), `${queryOf(read)} at ${now}`).toEqual(want)
  expect(snap.window_ms).toBe(read.windowMs)
}

/** The whole service on a manual clock or not; never 503 for a loaded test machine (overload shedding has its own tests). */
function start(options: Parameters<typeof build>[0] = {}) {
  return build({ maxEventLoopDelayMs: 0, ...options })
}

async function get(app: FastifyInstance, url: string) {
  const res = await app.inject({ method: 'GET', url })
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
  return res.json()
}

describe('snapshots with statuses vs the sort-based reference (property)', () => {
  const smallWrites = writesArb({
    advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: WINDOW_MS / 4 })),
    minWrites: 1,
    maxWrites: 25,
  })

  it('store: filtered snapshots, statuses, errors, error_rate, le and quantiles, rings that wrap included', () => {
    fc.assert(
      fc.property(
        smallWrites,
        fc.array(readArb, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (writes, reads, maxSamples, startOffset) => {
          const clock = manualClock(CLOCK_START + startOffset)
          const store = new MetricStore({ maxMetrics: 10, maxSamples, windowMs: WINDOW_MS, now: clock.now })
          const samples = replayIntoStore(store, 'm', clock, writes)
          const kept = samples.slice(-maxSamples)
          for (const generated of reads) {
            clock.advance(generated.advanceMs)
            const read = withDataThresholds(generated, kept)
            const snap = store.snapshot(store.get('m')!, readOptions(read))
            expectLikeReference(snap, kept, clock.now(), read)
            expect(snap.total).toBe(samples.length)
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('store: over 1,024 matching in-window samples (the radix path), reads with and without filters in turn', () => {
    // A first batch of 1,025+ 200s, then big writes of mostly 200s: 2xx keeps over
    // 1,024 samples, and the clock moves little, so all are in the window at first.
    // Successive reads of one metric reuse the last read's rank buckets as a guess,
    // across different filters.
    const status = fc.oneof({ weight: 9, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(0, 503, 999) })
    const firstBatch = fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1_025, maxLength: 1_200 })
    const bigWrites = writesArb({ advance: fc.integer({ min: 0, max: 1_000 }), minBatch: 300, maxBatch: 1_500, status, minWrites: 1, maxWrites: 4 })
    fc.assert(
      fc.property(firstBatch, bigWrites, fc.array(readArb, { minLength: 1, maxLength: 3 }), (first, more, reads) => {
        const clock = manualClock(CLOCK_START)
        const store = new MetricStore({ maxMetrics: 10, maxSamples: 10_000, windowMs: WINDOW_MS, now: clock.now })
        const writes: Write[] = [{ advanceMs: 0, kind: 'batch', values: first, status: 200 }, ...more]
        const samples = replayIntoStore(store, 'm', clock, writes)
        const all: Read = { advanceMs: 0, windowMs: WINDOW_MS, quantiles: ['0.001', '0.25', '0.9', '1'] }
        const successes: Read = { ...all, status: ['2xx'], le: ['5', '1000', '500000'] }
        const errors: Read = { ...all, status: ['0', '5xx', '999'] }
        for (const [i, generated] of [all, successes, errors, ...reads, successes, all].entries()) {
          clock.advance(generated.advanceMs)
          const read = withDataThresholds(generated, samples)
          const snap = store.snapshot(store.get('m')!, readOptions(read))
          expectLikeReference(snap, samples, clock.now(), read)
          if (i < 2) expect(snap.count, 'samples the read selects from').toBeGreaterThan(1_024)
        }
      }),
      { numRuns: 8 },
    )
  })

  it('store: writes and repeated reads interleaved over 1,024+ samples (a window read is kept only while nothing changed)', () => {
    // Reads repeat one of three option sets, often with the clock still or barely moved,
    // so a read often finds the last read's window unchanged (and may reuse it), and
    // often finds one write (one sample, even), the ring wrapped at the same size, or
    // samples aged out since: every answer must still be the reference's.
    const options: Read[] = [
      { advanceMs: 0, windowMs: WINDOW_MS },
      { advanceMs: 0, windowMs: WINDOW_MS, status: ['2xx'], quantiles: ['0.999'], le: ['1000'] },
      { advanceMs: 0, windowMs: WINDOW_MS / 2, quantiles: ['0.5', '1'] },
    ]
    const step = fc.oneof(
      { weight: 2, arbitrary: writeArb({ advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5_000 })), maxBatch: 30 }) },
      {
        weight: 3,
        arbitrary: fc.record({
          read: fc.integer({ min: 0, max: options.length - 1 }),
          advanceMs: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: WINDOW_MS / 3 })),
        }),
      },
    )
    const firstBatch = fc.array(latencyArb, { minLength: 1_100, maxLength: 1_400 })
    fc.assert(
      fc.property(firstBatch, fc.array(step, { minLength: 4, maxLength: 30 }), fc.integer({ min: 1_050, max: 2_000 }), (first, steps, maxSamples) => {
        const clock = manualClock(CLOCK_START)
        const store = new MetricStore({ maxMetrics: 10, maxSamples, windowMs: WINDOW_MS, now: clock.now })
        const samples = replayIntoStore(store, 'm', clock, [{ advanceMs: 0, kind: 'batch', values: first, status: 200 }])
        for (const s of steps) {
          if ('kind' in s) {
            samples.push(...replayIntoStore(store, 'm', clock, [s]))
            continue
          }
          clock.advance(s.advanceMs)
          const read = options[s.read]
          const kept = samples.slice(-maxSamples)
          expectLikeReference(store.snapshot(store.get('m')!, readOptions(read)), kept, clock.now(), read)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('HTTP: posts of single values, batches with one status and batches with a status per value; GET /metrics/:id and GET /metrics agree with the reference', async () => {
    const clock = manualClock(CLOCK_START)
    const app = await start({ now: clock.now, maxSamples: 300 })
    let run = 0
    await fc.assert(
      fc.asyncProperty(smallWrites, fc.array(readArb, { minLength: 1, maxLength: 3 }), async (writes: Write[], reads: Read[]) => {
        const id = `m${run++}`
        const samples = await replayOverHttp(app, id, clock, writes)
        const kept = samples.slice(-300)
        for (const generated of reads) {
          clock.advance(generated.advanceMs)
          const read = withDataThresholds(generated, kept)
          const snap = await get(app, `/metrics/${id}?${queryOf(read)}`)
          expectLikeReference(snap, kept, clock.now(), read)
          expect(snap.total).toBe(samples.length)
          const listed = (await get(app, `/metrics?${queryOf(read)}`)).metrics.find((m: MetricSnapshot) => m.id === id)
          expect(listed).toEqual(snap)
        }
      }),
      { numRuns: 15 },
    )
  })
})

describe('statuses, errors and error_rate', () => {
  it('a metric takes more than four distinct statuses (its status totals grow)', () => {
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 100, windowMs: 60_000, now: () => 1_000 })
    for (const s of [200, 201, 202, 203, 204, 500]) expect(store.ingestSamples('m', 5, s)).toBe(1)
    expect(store.ingestSamples('m', [1, 2, 3], [301, 302, 303])).toBe(3)
    expect(store.get('m')!.statusCounts()).toEqual([200, 201, 202, 203, 204, 301, 302, 303, 500].map((s) => [s, 1]))
  })

  it('a metric that never received a status: statuses {}, errors 0, error_rate null', async () => {
    const app = await start()
    await postJson(app, '/metrics/plain/latency', { latency_ns: [5, 6, 7] })
    await postJson(app, '/metrics/plain/latency', { latency_ns: 8 })
    const snap = await get(app, '/metrics/plain')
    expect(snap).toMatchObject({ count: 4, statuses: {}, errors: 0, error_rate: null })
    const listed = (await get(app, '/metrics')).metrics[0]
    expect(listed).toMatchObject({ id: 'plain', statuses: {}, errors: 0, error_rate: null })
  })

  it('a metric with jobs only has the three fields too', async () => {
    const app = await start()
    await postJson(app, '/metrics/jobs-only/jobs', { event: 'created' })
    expect(await get(app, '/metrics/jobs-only')).toMatchObject({ count: 0, statuses: {}, errors: 0, error_rate: null })
  })

  it('status 0 (no response) and 999 are valid and both count as errors', async () => {
    const app = await start()
    expect((await postJson(app, '/metrics/m/latency', { latency_ns: 5, status: 0 })).statusCode).toBe(202)
    expect((await postJson(app, '/metrics/m/latency', { latency_ns: 7, status: 999 })).statusCode).toBe(202)
    expect((await postJson(app, '/metrics/m/latency', { latency_ns: [9, 11], status: [499, 200] })).statusCode).toBe(202)
    expect(await get(app, '/metrics/m')).toMatchObject({
      count: 4,
      statuses: { '0': 1, '999': 1, '499': 1, '200': 1 },
      errors: 2,
      error_rate: 0.5,
    })
    expect(await get(app, '/metrics/m?status=0')).toMatchObject({ count: 1, min_ns: 5, max_ns: 5, statuses: { '0': 1 }, errors: 1, error_rate: 1 })
    expect(await get(app, '/metrics/m?status=999')).toMatchObject({ count: 1, min_ns: 7, statuses: { '999': 1 }, errors: 1 })
    expect(await get(app, '/metrics/m?status=9xx')).toMatchObject({ count: 1, min_ns: 7 })
    expect(await get(app, '/metrics/m?status=4xx')).toMatchObject({ count: 1, min_ns: 9, errors: 0, error_rate: 0 })
  })

  it('error_rate divides by the samples that have a status, not by count', async () => {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [1, 2, 3, 4, 5, 6] }) // no status
    await postJson(app, '/metrics/m/latency', { latency_ns: [7, 8, 9], status: [200, 503, 200] })
    await postJson(app, '/metrics/m/latency', { latency_ns: 10, status: 500 })
    expect(await get(app, '/metrics/m')).toMatchObject({ count: 10, statuses: { '200': 2, '503': 1, '500': 1 }, errors: 2, error_rate: 0.5 })
  })

  it('a batch with one status gives it to every value', async () => {
    const app = await start()
    expect((await postJson(app, '/metrics/m/latency', { latency_ns: [3, 4, 5], status: 503 })).json()).toEqual({ accepted: 3 })
    expect(await get(app, '/metrics/m')).toMatchObject({ count: 3, statuses: { '503': 3 }, errors: 3, error_rate: 1 })
  })

  it('statuses and errors follow the window: a sample that ages out leaves them', async () => {
    const clock = manualClock(CLOCK_START)
    const app = await start({ now: clock.now })
    await postJson(app, '/metrics/m/latency', { latency_ns: 1, status: 500 })
    clock.advance(10_000)
    await postJson(app, '/metrics/m/latency', { latency_ns: 2, status: 200 })
    expect(await get(app, '/metrics/m')).toMatchObject({ statuses: { '500': 1, '200': 1 }, errors: 1, error_rate: 0.5 })
    expect(await get(app, '/metrics/m?window_ms=10000')).toMatchObject({ statuses: { '200': 1 }, errors: 0, error_rate: 0 })
    clock.advance(WINDOW_MS - 10_000)
    expect(await get(app, '/metrics/m')).toMatchObject({ count: 1, total: 2, statuses: { '200': 1 }, errors: 0, error_rate: 0 })
    clock.advance(10_000)
    expect(await get(app, '/metrics/m')).toMatchObject({ count: 0, total: 2, statuses: {}, errors: 0, error_rate: null })
  })
})

describe('?status= filters', () => {
  async function mixed() {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [100, 200, 300], status: [200, 204, 404] })
    await postJson(app, '/metrics/m/latency', { latency_ns: [1000, 2000], status: 503 })
    await postJson(app, '/metrics/m/latency', { latency_ns: [7, 8] }) // no status
    await postJson(app, '/metrics/m/jobs', { event: 'started', count: 3 })
    return app
  }

  it('classes and exact codes combine; total and jobs are not filtered', async () => {
    const app = await mixed()
    const all = await get(app, '/metrics/m')
    const snap = await get(app, '/metrics/m?status=2xx,404')
    expect(snap).toMatchObject({ count: 3, min_ns: 100, max_ns: 300, statuses: { '200': 1, '204': 1, '404': 1 }, errors: 0, error_rate: 0 })
    expect(snap.total).toBe(7)
    expect(snap.jobs).toEqual(all.jobs)
    expect(snap.jobs.started).toBe(3)
    expect(await get(app, '/metrics/m?status=5xx')).toMatchObject({ count: 2, total: 7, min_ns: 1000, errors: 2, error_rate: 1 })
    // The same status twice, or a class and a code inside it, counts each sample once.
    expect(await get(app, '/metrics/m?status=503,5xx,503')).toMatchObject({ count: 2 })
  })

  it('a filter that matches nothing: count 0, every statistic null, error_rate null; total and jobs unchanged', async () => {
    const app = await mixed()
    const all = await get(app, '/metrics/m')
    for (const filter of ['302', '1xx', '0', '999', '9xx,3xx']) {
      const snap = await get(app, `/metrics/m?status=${filter}&quantiles=0.9,1&le_ns=1,1000000`)
      expect(snap, filter).toMatchObject({ count: 0, total: 7, statuses: {}, errors: 0, error_rate: null, jobs: all.jobs })
      for (const k of STATS) expect(snap[k], `${filter} ${k}`).toBeNull()
      expect(snap.quantiles).toEqual({ '0.9': null, '1': null })
      expect(snap.le).toEqual({ '1': { count: 0, fraction: null }, '1000000': { count: 0, fraction: null } })
    }
  })

  it('samples without a status never match; a metric without statuses matches no filter', async () => {
    const app = await start()
    await postJson(app, '/metrics/plain/latency', { latency_ns: [5, 6] })
    await postJson(app, '/metrics/plain/jobs', { event: 'created', count: 2 })
    const every = Array.from({ length: 9 }, (_, i) => `${i + 1}xx`)
      .concat(['0'])
      .join(',')
    const snap = await get(app, `/metrics/plain?status=${every}`)
    expect(snap).toMatchObject({ count: 0, total: 2, statuses: {}, errors: 0, error_rate: null, jobs: { created: 2 } })
    for (const k of STATS) expect(snap[k], k).toBeNull()
  })

  it('applies to every snapshot of GET /metrics, with le_ns', async () => {
    const app = await mixed()
    await postJson(app, '/metrics/other/latency', { latency_ns: [50, 60], status: [201, 500] })
    const { metrics } = await get(app, '/metrics?status=2xx&le_ns=150,60')
    expect(metrics.map((m: MetricSnapshot) => [m.id, m.count, m.total, m.le])).toEqual([
      ['m', 2, 7, { '150': { count: 1, fraction: 0.5 }, '60': { count: 0, fraction: 0 } }],
      ['other', 1, 2, { '150': { count: 1, fraction: 1 }, '60': { count: 1, fraction: 1 } }],
    ])
  })

  it('sixteen terms are accepted', async () => {
    const app = await mixed()
    const terms = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx', '7xx', '8xx', '9xx', '0', '1', '99', '100', '500', '998', '999']
    expect(terms).toHaveLength(16)
    expect(await get(app, `/metrics/m?status=${terms.join(',')}`)).toMatchObject({ count: 5 })
  })
})

describe('?le_ns= SLO shares', () => {
  it('thresholds below the minimum, equal to values and above the maximum; keys as written', async () => {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [10, 20, 20, 30], status: [200, 200, 500, 200] })
    const max = String(Number.MAX_SAFE_INTEGER)
    const snap = await get(app, `/metrics/m?le_ns=9,10,20,29,30,31,${max},1`)
    expect(snap.le).toEqual({
      '1': { count: 0, fraction: 0 },
      '9': { count: 0, fraction: 0 },
      '10': { count: 1, fraction: 0.25 },
      '20': { count: 3, fraction: 0.75 },
      '29': { count: 3, fraction: 0.75 },
      '30': { count: 4, fraction: 1 },
      '31': { count: 4, fraction: 1 },
      [max]: { count: 4, fraction: 1 },
    })
    // With a filter, counts and fractions are over the matching samples only.
    expect((await get(app, '/metrics/m?status=200&le_ns=20')).le).toEqual({ '20': { count: 2, fraction: 2 / 3 } })
  })

  it('is absent unless asked for; fraction null when the window is empty', async () => {
    const clock = manualClock(CLOCK_START)
    const app = await start({ now: clock.now })
    await postJson(app, '/metrics/m/latency', { latency_ns: 10 })
    expect(await get(app, '/metrics/m')).not.toHaveProperty('le')
    clock.advance(WINDOW_MS)
    expect((await get(app, '/metrics/m?le_ns=10')).le).toEqual({ '10': { count: 0, fraction: null } })
  })

  it('sixteen thresholds are accepted, a repeated one is reported once', async () => {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [1, 2, 3] })
    const thresholds = Array.from({ length: 16 }, (_, i) => String(i + 1))
    expect(Object.keys((await get(app, `/metrics/m?le_ns=${thresholds.join(',')}`)).le)).toHaveLength(16)
    expect((await get(app, '/metrics/m?le_ns=2,2')).le).toEqual({ '2': { count: 2, fraction: 2 / 3 } })
  })
})

describe('bad writes: 400, and nothing is stored', () => {
  const badBodies: Array<[string, unknown]> = [
    ['status null', { latency_ns: 5, status: null }],
    ['status a string', { latency_ns: 5, status: '200' }],
    ['status a fraction', { latency_ns: 5, status: 200.5 }],
    ['status -1', { latency_ns: 5, status: -1 }],
    ['status 1000', { latency_ns: 5, status: 1000 }],
    ['status an object', { latency_ns: 5, status: { code: 200 } }],
    ['status a boolean', { latency_ns: 5, status: true }],
    ['a status array beside a single latency', { latency_ns: 5, status: [200] }],
    ['fewer statuses than latencies', { latency_ns: [5, 6], status: [200] }],
    ['more statuses than latencies', { latency_ns: [5, 6], status: [200, 200, 200] }],
    ['an empty status array', { latency_ns: [5], status: [] }],
    ['a status array with -1', { latency_ns: [5, 6], status: [200, -1] }],
    ['a status array with 1000', { latency_ns: [5, 6], status: [1000, 200] }],
    ['a status array with a fraction', { latency_ns: [5, 6], status: [200, 1.5] }],
    ['a status array with null', { latency_ns: [5, 6], status: [200, null] }],
    ['a status array with a string', { latency_ns: [5, 6], status: [200, '200'] }],
    ['a batch with status null', { latency_ns: [5, 6], status: null }],
    ['a batch with status 1000', { latency_ns: [5, 6], status: 1000 }],
    ['a good status beside a bad latency', { latency_ns: 0, status: 200 }],
    ['good statuses beside a batch with a bad latency', { latency_ns: [5, 0], status: [200, 200] }],
    ['a second unknown key', { latency_ns: 5, status: 200, code: 1 }],
  ]

  it('each is refused, on an existing id and on a new one, and changes nothing', async () => {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [5, 6], status: [200, 503] })
    await postJson(app, '/metrics/m/latency', { latency_ns: 7 })
    const before = await get(app, '/metrics/m?quantiles=0.9')
    const samplesBefore = (await get(app, '/metrics')).service.samples_total
    const responsesBefore = (await app.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body.match(/^latency_tracker_responses_total.*$/gm)
    expect(responsesBefore).toEqual(['latency_tracker_responses_total{id="m",status="200"} 1', 'latency_tracker_responses_total{id="m",status="503"} 1'])

    for (const [name, body] of badBodies) {
      const existing = await postJson(app, '/metrics/m/latency', body)
      expect(existing.statusCode, `${name}: ${existing.body}`).toBe(400)
      expectError(existing, 400)
      expectError(await postJson(app, '/metrics/fresh/latency', body), 400)
      expect(await get(app, '/metrics/m?quantiles=0.9'), name).toEqual(before)
      expectError(await app.inject({ method: 'GET', url: '/metrics/fresh' }), 404)
    }
    const after = await get(app, '/metrics')
    expect(after.service.samples_total).toBe(samplesBefore)
    expect(after.metrics.map((m: MetricSnapshot) => m.id)).toEqual(['m'])
    const responsesAfter = (await app.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body.match(/^latency_tracker_responses_total.*$/gm)
    expect(responsesAfter).toEqual(responsesBefore)
  })

  it('the domain ingest API refuses the same statuses, with a reason, and records nothing (what every door calls)', () => {
    const clock = manualClock(CLOCK_START)
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 100, windowMs: WINDOW_MS, now: clock.now })
    expect(store.ingestSamples('m', [5, 6], [200, 503])).toBe(2)
    const before = store.snapshot(store.get('m')!, { windowMs: WINDOW_MS })
    const cases: Array<[number | ArrayLike<number>, number | ArrayLike<number>, string]> = [
      [5, -1, 'invalid-status'],
      [5, 1000, 'invalid-status'],
      [5, 200.5, 'invalid-status'],
      [5, Number.NaN, 'invalid-status'],
      [5, Number.POSITIVE_INFINITY, 'invalid-status'],
      [[5, 6], 1000, 'invalid-status'],
      [[5, 6], [200, -1], 'invalid-status'],
      [[5, 6], [200, 0xffff], 'invalid-status'], // "no status" is not a status one can send in an array
      [[5, 6], [200, Number.NaN], 'invalid-status'],
      [5, [200], 'status-mismatch'],
      [[5, 6], [200], 'status-mismatch'],
      [[5, 6], [200, 200, 200], 'status-mismatch'],
      [0, 200, 'invalid-latency'],
      [[5, 0], [200, 200], 'invalid-latency'],
      // Typed arrays, as the HTTP body scanner hands them over (their statuses are checked by their largest).
      [Float64Array.of(5, 6), Uint16Array.of(200, 1000), 'invalid-status'],
      [Float64Array.of(5, 6), Uint16Array.of(0xffff, 200), 'invalid-status'],
      [Float64Array.of(5, 6), Uint16Array.of(200), 'status-mismatch'],
    ]
    for (const [latency, status, reason] of cases) {
      for (const id of ['m', 'fresh']) {
        const refusal = store.ingestSamples(id, latency, status)
        expect(refusal, `${id} ${JSON.stringify([latency, status])}`).toBeInstanceOf(IngestRefusal)
        expect((refusal as IngestRefusal).reason, `${JSON.stringify([latency, status])}`).toBe(reason)
      }
    }
    expect(store.get('fresh')).toBeUndefined()
    expect(store.snapshot(store.get('m')!, { windowMs: WINDOW_MS })).toEqual(before)
    expect(store.get('m')!.statusCounts()).toEqual([
      [200, 1],
      [503, 1],
    ])
    // The refusal names the first bad status; 0 and 999 in a typed array are fine.
    expect((store.ingestSamples('m', Float64Array.of(5, 6, 7), Uint16Array.of(200, 1000, 1001)) as IngestRefusal).message).toMatch(/1000/)
    // Refused batches were counted before their refusal: none of their counts stays
    // behind to be added (or to hide a status) when a later batch carries the same ones.
    expect(store.ingestSamples('m', Float64Array.of(5, 6, 7), Uint16Array.of(0, 999, 200))).toBe(3)
    expect(store.get('m')!.statusCounts()).toEqual([
      [0, 1],
      [200, 2],
      [503, 1],
      [999, 1],
    ])
    // Their values were counted into histogram buckets with the statuses: none of those stays behind either.
    expect(store.get('m')!.total).toBe(5)
    expect(store.get('m')!.sumNs).toBe(5 + 6 + 5 + 6 + 7)
  })

  it('a batch with a status per value after single samples: the histogram counts every sample once, in its bucket', () => {
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 100, windowMs: WINDOW_MS, now: manualClock().now, bucketBoundsNs: [10, 100] })
    // Single samples wait to be bucketed; the batch's buckets are counted before it is recorded.
    for (const v of [5, 50, 500]) expect(store.ingestSamples('m', v, 200)).toBe(1)
    expect(store.ingestSamples('m', Float64Array.of(1, 60, 70, 5_000, 9), Uint16Array.of(200, 404, 503, 0, 200))).toBe(5)
    expect(store.ingestSamples('m', [7, 700], [200, 200])).toBe(2)
    const m = store.get('m')!
    store.settle(m)
    expect([0, 1, 2].map((b) => m.bucketCount(b))).toEqual([4, 3, 3])
    expect(m.total).toBe(10)
    expect(m.sumNs).toBe(5 + 50 + 500 + 1 + 60 + 70 + 5_000 + 9 + 7 + 700)
  })

  it('a batch refused for MAX_METRICS leaves no status counts behind', () => {
    const store = new MetricStore({ maxMetrics: 1, maxSamples: 100, windowMs: WINDOW_MS, now: manualClock().now })
    expect(store.ingestSamples('kept', [1], [404])).toBe(1)
    expect((store.ingestSamples('new', Float64Array.of(5, 6), Uint16Array.of(200, 503)) as IngestRefusal).reason).toBe('metric-limit')
    expect((store.ingestSamples('new', [5, 6], [200, 503]) as IngestRefusal).reason).toBe('metric-limit')
    expect(store.ingestSamples('kept', Float64Array.of(5, 6), Uint16Array.of(200, 200))).toBe(2)
    expect(store.get('kept')!.statusCounts()).toEqual([
      [200, 2],
      [404, 1],
    ])
    expect(store.get('kept')!.total).toBe(3)
    expect(store.get('kept')!.sumNs).toBe(1 + 5 + 6)
  })

  it('the reason names status when only the status is wrong', async () => {
    const app = await start()
    for (const [name, body] of badBodies.filter(([n]) => /status/.test(n) && !/latency/.test(n))) {
      expect(expectError(await postJson(app, '/metrics/m/latency', body), 400), name).toMatch(/status/)
    }
  })
})

describe('bad ?status= and ?le_ns=: 400 on every read route', () => {
  const seventeen = (term: (i: number) => string) => Array.from({ length: 17 }, (_, i) => term(i)).join(',')
  const badStatus = [
    '2XX',
    '10xx',
    '0xx',
    'xx',
    '2x',
    'abc',
    '',
    '2xx,',
    ',404',
    '2xx,,404',
    seventeen((i) => String(200 + i)),
    '007',
    '01',
    '1000',
    '-1',
    '2.0',
    '+200',
    '%20200',
    '2xx%20',
  ]
  const badLe = ['0', '-1', '1.5', String(2 ** 53), '99999999999999999', seventeen((i) => String(i + 1)), '', '1,', ',1', '1e3', 'abc', '%201', '0x10']
  const routes = ['/metrics/m', '/metrics', '/metrics/m/series']

  it.each(routes)('%s', async (route) => {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [5, 6], status: [200, 503] })
    for (const text of badStatus)
      expect(expectError(await app.inject({ method: 'GET', url: `${route}?status=${text}` }), 400), `status=${text}`).toMatch(/status/)
    for (const text of badLe) expect(expectError(await app.inject({ method: 'GET', url: `${route}?le_ns=${text}` }), 400), `le_ns=${text}`).toMatch(/le_ns/)
    // Good values beside them still answer.
    expect((await app.inject({ method: 'GET', url: `${route}?status=2xx&le_ns=${2 ** 53 - 1}` })).statusCode).toBe(200)
  })

  it('a random term is accepted exactly when it is an exact status 0..999 without leading zeros or a class 1xx..9xx (property)', async () => {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [5, 6], status: [200, 503] })
    const char = fc.constantFrom('0', '1', '2', '5', '9', 'x', 'X', '-', '.', ' ', '+', 'a')
    const term = fc.oneof(
      fc.string({ unit: char, maxLength: 5 }),
      fc.integer({ min: -5, max: 1_005 }).map(String),
      fc.integer({ min: 0, max: 10 }).map((d) => `${d}xx`),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(term, { minLength: 1, maxLength: 3 }), async (terms) => {
        const res = await app.inject({ method: 'GET', url: `/metrics/m?status=${encodeURIComponent(terms.join(','))}` })
        expect(res.statusCode, `${JSON.stringify(terms)}: ${res.body}`).toBe(terms.every(isValidStatusTermRef) ? 200 : 400)
      }),
      { numRuns: 200 },
    )
  })
})

describe('Prometheus families', () => {
  /** The samples of one family in the text format, as "labels value" pairs. */
  function family(text: string, name: string): Record<string, number> {
    const out: Record<string, number> = {}
    for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\}) (\\S+)$`, 'gm'))) out[m[1]] = Number(m[2])
    return out
  }

  it('responses_total counts every sample per status since the id was created; window_errors follows the window', async () => {
    const clock = manualClock(CLOCK_START)
    const app = await start({ now: clock.now, maxSamples: 4 })
    await postJson(app, '/metrics/m/latency', { latency_ns: [1, 2, 3], status: [200, 503, 0] })
    await postJson(app, '/metrics/m/latency', { latency_ns: 4, status: 503 })
    clock.advance(30_000)
    await postJson(app, '/metrics/m/latency', { latency_ns: [5, 6, 7], status: 200 }) // the ring of 4 drops 1, 2 and 3
    await postJson(app, '/metrics/plain/latency', { latency_ns: 8 })
    const text = (await app.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body
    expect(family(text, 'latency_tracker_responses_total')).toEqual({
      '{id="m",status="0"}': 1,
      '{id="m",status="200"}': 4,
      '{id="m",status="503"}': 2,
    })
    // In the ring: 4 (503), 5, 6, 7 (200): the window holds 4 samples, one an error.
    expect(family(text, 'latency_tracker_window_errors')).toEqual({ '{id="m"}': 1, '{id="plain"}': 0 })
    clock.advance(30_000) // 4 (503) leaves the window
    const later = (await app.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body
    expect(family(later, 'latency_tracker_window_errors')).toEqual({ '{id="m"}': 0, '{id="plain"}': 0 })
    expect(family(later, 'latency_tracker_responses_total')).toEqual(family(text, 'latency_tracker_responses_total'))
  })

  it('?status= filters the windowed families only; ?le_ns= is checked and adds nothing', async () => {
    const app = await start()
    await postJson(app, '/metrics/m/latency', { latency_ns: [10, 20, 30, 40], status: [200, 503, 0, 200] })
    const scrape = async (query: string) => (await app.inject({ method: 'GET', url: `/metrics?format=prometheus&${query}` })).body
    const all = await scrape('')
    const errorsOnly = await scrape('status=5xx,0&quantiles=1')
    expect(family(errorsOnly, 'latency_tracker_window_samples')).toEqual({ '{id="m"}': 2 })
    expect(family(errorsOnly, 'latency_tracker_window_errors')).toEqual({ '{id="m"}': 2 })
    expect(family(errorsOnly, 'latency_tracker_window_latency_seconds')['{id="m",quantile="1"}']).toBe(30e-9)
    expect(family(await scrape('status=2xx'), 'latency_tracker_window_errors')).toEqual({ '{id="m"}': 0 })
    // The cumulative families count every sample whatever the filter.
    for (const name of ['latency_tracker_window_latency_seconds_count', 'latency_tracker_window_latency_seconds_sum', 'latency_tracker_responses_total']) {
      expect(family(errorsOnly, name), name).toEqual(family(all, name))
    }
    const withThresholds = await scrape('le_ns=25')
    for (const name of ['latency_tracker_window_latency_seconds', 'latency_tracker_window_samples', 'latency_tracker_window_errors']) {
      expect(family(withThresholds, name), name).toEqual(family(all, name))
    }
    const types = (text: string) => text.match(/^# TYPE .*$/gm)
    expect(types(withThresholds)).toEqual(types(all))
    expectError(await app.inject({ method: 'GET', url: '/metrics?format=prometheus&le_ns=0' }), 400)
    expectError(await app.inject({ method: 'GET', url: '/metrics?format=prometheus&status=6' + 'x' }), 400)
  })
})
