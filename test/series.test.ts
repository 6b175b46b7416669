import type { FastifyInstance } from 'fastify'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MetricRemoved, MetricStore, type SeriesPoint } from '../src/store/metric-store.js'
import { build, computedSeries, expectError, postJson } from './helper.js'
import { type RefReadOptions, type TimedStatusSample, alignMean, manualClock, refSeries, refStats } from './reference.js'
import { CLOCK_START, quantileArb, readOptions, replayIntoStore, replayOverHttp, statusTermsArb, thresholdArb, writesArb } from './status-writes.js'

// GET /metrics/:id/series and MetricStore.series (issue 11): exact statistics per
// step, against the sort-based reference (reference.ts: each sample in step
// floor(t / step), the first step limited to the window) on random data, steps,
// windows and clocks, plus the edges and every bad step_ms.

const WINDOW_MS = 60_000
const MAX_POINTS = 10_000

/** The whole service; never 503 for a loaded test machine (overload shedding has its own tests). */
function start(options: Parameters<typeof build>[0] = {}) {
  return build({ maxEventLoopDelayMs: 0, ...options })
}

async function get(app: FastifyInstance, url: string) {
  const res = await app.inject({ method: 'GET', url })
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
  return res.json()
}

/** What the reference says every point holds: refStats without the snapshot-only fields. */
function refPoints(samples: readonly TimedStatusSample[], now: number, windowMs: number, stepMs: number, options: RefReadOptions) {
  return refSeries(samples, now, windowMs, stepMs).map(({ t_ms, samples: inStep }) => {
    const { statuses: _s, error_rate: _r, ...stats } = refStats(inStep, options)
    return { t_ms, ...stats }
  })
}

/** Points with each mean replaced by the reference's when it is within float rounding of it (see alignMean). */
function aligned(points: SeriesPoint[], want: ReturnType<typeof refPoints>) {
  return points.map((p, i) => (i < want.length ? alignMean(p, want[i]) : p))
}

/** A series read of a property run: window, step, filter, thresholds and quantiles, and how far the clock moves first. */
interface SeriesRead extends RefReadOptions {
  advanceMs: number
  windowMs: number
  stepMs: number
}

/**
 * Windows from 1 ms to WINDOW_MS and steps from 1 ms to beyond the window, kept
 * to at most ~2,000 points so that a run stays quick (the limit has its own tests).
 */
const windowAndStepArb = fc
  .oneof(fc.constant(1), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: WINDOW_MS }), fc.constant(WINDOW_MS))
  .chain((windowMs) => {
    const minStep = Math.ceil(windowMs / 2_000)
    return fc.record({
      windowMs: fc.constant(windowMs),
      stepMs: fc.oneof(
        fc.constant(minStep),
        fc.integer({ min: minStep, max: Math.max(minStep, Math.ceil(windowMs / 10)) }),
        fc.integer({ min: minStep, max: Math.max(minStep, windowMs) }),
        fc.constant(Math.max(minStep, windowMs)),
        fc.integer({ min: windowMs, max: 3 * windowMs + 7 }),
      ),
    })
  })

/** A script whose clock starts on a multiple of the step or anywhere, and moves by whole steps, within a step, or anywhere. */
const seriesCaseArb = windowAndStepArb.chain(({ windowMs, stepMs }) => {
  const advance = fc.oneof(
    fc.constant(0),
    fc.constant(stepMs),
    fc.integer({ min: 0, max: 4 }).map((k) => k * stepMs),
    fc.integer({ min: 0, max: stepMs }),
    fc.integer({ min: 0, max: windowMs }),
  )
  const onStep = CLOCK_START - (CLOCK_START % stepMs)
  return fc.record({
    start: fc.oneof(
      fc.constant(onStep),
      fc.integer({ min: 0, max: stepMs - 1 }).map((o) => onStep + o),
      fc.integer({ min: 0, max: 10_000_000 }).map((o) => CLOCK_START + o),
    ),
    writes: writesArb({ advance, minWrites: 1, maxWrites: 20 }),
    reads: fc.array(
      fc.record({
        advanceMs: advance,
        windowMs: fc.constant(windowMs),
        stepMs: fc.constant(stepMs),
        status: fc.option(statusTermsArb, { nil: undefined }),
        quantiles: fc.option(fc.array(quantileArb, { minLength: 1, maxLength: 3 }), { nil: undefined }),
        le: fc.option(fc.array(thresholdArb, { minLength: 1, maxLength: 4 }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    maxSamples: fc.oneof(fc.constant(10_000), fc.integer({ min: 1, max: 200 })),
  })
})

function queryOf(read: SeriesRead): string {
  const params = [`window_ms=${read.windowMs}`, `step_ms=${read.stepMs}`]
  if (read.status !== undefined) params.push(`status=${read.status.join(',')}`)
  if (read.quantiles !== undefined) params.push(`quantiles=${read.quantiles.join(',')}`)
  if (read.le !== undefined) params.push(`le_ns=${read.le.join(',')}`)
  return params.join('&')
}

describe('every point of a series vs the sort-based reference (property)', () => {
  it('store: random windows, steps, clocks, filters, thresholds and quantiles; rings that wrap', async () => {
    await fc.assert(
      fc.asyncProperty(seriesCaseArb, async ({ start: t0, writes, reads, maxSamples }) => {
        const clock = manualClock(t0)
        const store = new MetricStore({ maxMetrics: 10, maxSamples, windowMs: WINDOW_MS, now: clock.now })
        const kept = replayIntoStore(store, 'm', clock, writes).slice(-maxSamples)
        for (const read of reads) {
          clock.advance(read.advanceMs)
          const series = computedSeries(await store.series(store.get('m')!, readOptions(read), read.stepMs))
          const want = refPoints(kept, clock.now(), read.windowMs, read.stepMs, read)
          expect(series.step_ms).toBe(read.stepMs)
          expect(series.window_ms).toBe(read.windowMs)
          expect(aligned(series.points, want), `${queryOf(read)} at ${clock.now()}`).toEqual(want)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('store: over 1,024 samples in one step (the radix path), with and without a filter', async () => {
    const big = fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1_025, maxLength: 2_000 })
    await fc.assert(
      fc.asyncProperty(big, big, fc.integer({ min: 0, max: 999 }), async (first, second, offset) => {
        const clock = manualClock(CLOCK_START + offset)
        const store = new MetricStore({ maxMetrics: 10, maxSamples: 10_000, windowMs: WINDOW_MS, now: clock.now })
        const statuses = second.map((_, i) => (i % 10 === 0 ? 503 : 200))
        const samples = replayIntoStore(store, 'm', clock, [
          { advanceMs: 0, kind: 'batch', values: first, status: 200 },
          { advanceMs: 1_000, kind: 'per-value', values: second, statuses },
        ])
        for (const read of [
          { advanceMs: 0, windowMs: WINDOW_MS, stepMs: 1_000 },
          { advanceMs: 0, windowMs: WINDOW_MS, stepMs: 1_000, status: ['2xx'], quantiles: ['0.001', '0.9'], le: ['1000', '500000'] },
          { advanceMs: 0, windowMs: 10_000, stepMs: 2_000, status: ['5xx'] },
        ] satisfies SeriesRead[]) {
          const series = computedSeries(await store.series(store.get('m')!, readOptions(read), read.stepMs))
          const want = refPoints(samples, clock.now(), read.windowMs, read.stepMs, read)
          expect(Math.max(...want.map((p) => p.count)), 'samples the fullest step selects from').toBeGreaterThan(read.status?.[0] === '5xx' ? 100 : 1_024)
          expect(aligned(series.points, want)).toEqual(want)
        }
      }),
      { numRuns: 6 },
    )
  })

  it('HTTP: GET /metrics/:id/series agrees with the reference', async () => {
    // One service on one manual clock: each run posts to its own id, later on the clock.
    let clock = manualClock(CLOCK_START)
    const app = await start({ now: () => clock.now(), maxSamples: 10_000 })
    let run = 0
    await fc.assert(
      fc.asyncProperty(seriesCaseArb, async ({ start: t0, writes, reads }) => {
        const id = `m${run++}`
        clock = manualClock(Math.max(t0, clock.now()))
        const samples = await replayOverHttp(app, id, clock, writes)
        for (const read of reads) {
          clock.advance(read.advanceMs)
          const series = await get(app, `/metrics/${id}/series?${queryOf(read)}`)
          const want = refPoints(samples, clock.now(), read.windowMs, read.stepMs, read)
          expect(series).toMatchObject({ id, window_ms: read.windowMs, step_ms: read.stepMs })
          expect(aligned(series.points, want), `${queryOf(read)} at ${clock.now()}`).toEqual(want)
        }
      }),
      { numRuns: 15 },
    )
  })
})

describe('steps and the window', () => {
  /** A service on a manual clock at `t` with the given samples posted there. */
  async function serviceAt(t: number) {
    const clock = manualClock(t)
    const app = await start({ now: clock.now })
    return { clock, app }
  }

  it('shape: id, window_ms, step_ms, points oldest first; t_ms multiples of step_ms; empty steps with count 0, null statistics and errors 0', async () => {
    const { clock, app } = await serviceAt(CLOCK_START + 250)
    await postJson(app, '/metrics/m/latency', { latency_ns: [1100, 1500, 98000], status: [200, 200, 503] })
    clock.advance(3_000)
    const series = await get(app, '/metrics/m/series?window_ms=5000&step_ms=1000')
    expect(Object.keys(series).sort()).toEqual(['id', 'points', 'step_ms', 'window_ms'])
    expect(series).toMatchObject({ id: 'm', window_ms: 5_000, step_ms: 1_000 })
    // now = START + 3250: the window (START - 1750, START + 3250] overlaps the steps from START - 2000 to START + 3000.
    const empty = { count: 0, min_ns: null, max_ns: null, mean_ns: null, p50_ns: null, p95_ns: null, p99_ns: null, errors: 0 }
    expect(series.points).toEqual([
      { t_ms: CLOCK_START - 2_000, ...empty },
      { t_ms: CLOCK_START - 1_000, ...empty },
      { t_ms: CLOCK_START, count: 3, min_ns: 1100, max_ns: 98000, mean_ns: (1100 + 1500 + 98000) / 3, p50_ns: 1500, p95_ns: 98000, p99_ns: 98000, errors: 1 },
      { t_ms: CLOCK_START + 1_000, ...empty },
      { t_ms: CLOCK_START + 2_000, ...empty },
      { t_ms: CLOCK_START + 3_000, ...empty },
    ])
    for (const p of series.points)
      expect(Object.keys(p).sort()).toEqual(['count', 'errors', 'max_ns', 'mean_ns', 'min_ns', 'p50_ns', 'p95_ns', 'p99_ns', 't_ms'])
  })

  it('a sample exactly on a step boundary belongs to the step that starts there', async () => {
    const { clock, app } = await serviceAt(CLOCK_START - 1)
    await postJson(app, '/metrics/m/latency', { latency_ns: 10 }) // last ms of the step before
    clock.advance(1)
    await postJson(app, '/metrics/m/latency', { latency_ns: 20 }) // exactly on the boundary
    clock.advance(999)
    await postJson(app, '/metrics/m/latency', { latency_ns: 30 }) // last ms of the step
    clock.advance(1)
    await postJson(app, '/metrics/m/latency', { latency_ns: 40 }) // next boundary, and now: the step in progress
    const { points } = await get(app, '/metrics/m/series?window_ms=3000&step_ms=1000')
    // now START + 1000, window (START - 2000, START + 1000]: the first step starts on the window's open end.
    expect(points.map((p: SeriesPoint) => [p.t_ms - CLOCK_START, p.count, p.min_ns, p.max_ns])).toEqual([
      [-2_000, 0, null, null],
      [-1_000, 1, 10, 10],
      [0, 2, 20, 30],
      [1_000, 1, 40, 40],
    ])
  })

  it('a step that straddles the window start holds only the samples inside the window', async () => {
    const { clock, app } = await serviceAt(CLOCK_START + 100)
    await postJson(app, '/metrics/m/latency', { latency_ns: 1, status: 500 }) // START + 100
    clock.advance(1)
    await postJson(app, '/metrics/m/latency', { latency_ns: 2, status: 500 }) // START + 101
    clock.advance(400)
    await postJson(app, '/metrics/m/latency', { latency_ns: 3, status: 200 }) // START + 501
    clock.advance(10_000) // now START + 10,501
    const url = (w: number) => `/metrics/m/series?window_ms=${w}&step_ms=1000`
    // window 10,400: (START + 101, START + 10,501]: the first step [START, START + 1000) keeps 3 only.
    let first = (await get(app, url(10_400))).points[0]
    expect(first).toMatchObject({ t_ms: CLOCK_START, count: 1, min_ns: 3, max_ns: 3, errors: 0 })
    // window 10,401: (START + 100, ...]: 2 and 3.
    first = (await get(app, url(10_401))).points[0]
    expect(first).toMatchObject({ t_ms: CLOCK_START, count: 2, min_ns: 2, max_ns: 3, errors: 1 })
    // The snapshot over the same window counts the same samples.
    expect((await get(app, '/metrics/m?window_ms=10401')).count).toBe(2)
    // window 10,000: (START + 501, ...]: the first step [START, START + 1000) overlaps the window but holds nothing.
    first = (await get(app, url(10_000))).points[0]
    expect(first).toMatchObject({ t_ms: CLOCK_START, count: 0, min_ns: null, errors: 0 })
  })

  it('a window of 1 ms holds only the samples recorded now', async () => {
    const { clock, app } = await serviceAt(CLOCK_START + 5)
    await postJson(app, '/metrics/m/latency', { latency_ns: 7 })
    clock.advance(1)
    await postJson(app, '/metrics/m/latency', { latency_ns: [8, 9], status: 0 })
    // now START + 6; window (START + 5, START + 6]: with a step of 1, the steps START + 5 (empty: 7 is at the window's open end) and START + 6.
    expect((await get(app, '/metrics/m/series?window_ms=1&step_ms=1')).points).toEqual([
      { t_ms: CLOCK_START + 5, count: 0, min_ns: null, max_ns: null, mean_ns: null, p50_ns: null, p95_ns: null, p99_ns: null, errors: 0 },
      { t_ms: CLOCK_START + 6, count: 2, min_ns: 8, max_ns: 9, mean_ns: 8.5, p50_ns: 8, p95_ns: 9, p99_ns: 9, errors: 2 },
    ])
    // With the default step (ceil(1 / 60) = 1) the same; with a step of 1000 one step holds both.
    expect((await get(app, '/metrics/m/series?window_ms=1')).step_ms).toBe(1)
    expect((await get(app, '/metrics/m/series?window_ms=1&step_ms=1000')).points).toEqual([
      { t_ms: CLOCK_START, count: 2, min_ns: 8, max_ns: 9, mean_ns: 8.5, p50_ns: 8, p95_ns: 9, p99_ns: 9, errors: 2 },
    ])
  })

  it('per point: ?status= filters every statistic and errors; quantiles and le appear when asked for', async () => {
    const { clock, app } = await serviceAt(CLOCK_START)
    await postJson(app, '/metrics/m/latency', { latency_ns: [10, 20, 30, 40], status: [200, 503, 0, 404] })
    clock.advance(1_000)
    await postJson(app, '/metrics/m/latency', { latency_ns: [50, 60] }) // no status
    const { points } = await get(app, '/metrics/m/series?window_ms=2000&step_ms=1000&status=5xx,0&quantiles=0.25,1&le_ns=20,25')
    /** A step with no matching sample, with the quantiles and thresholds asked for. */
    const emptyPoint = (t_ms: number) => ({
      t_ms,
      count: 0,
      min_ns: null,
      max_ns: null,
      mean_ns: null,
      p50_ns: null,
      p95_ns: null,
      p99_ns: null,
      quantiles: { '0.25': null, '1': null },
      le: { '20': { count: 0, fraction: null }, '25': { count: 0, fraction: null } },
      errors: 0,
    })
    expect(points).toEqual([
      emptyPoint(CLOCK_START - 1_000),
      {
        t_ms: CLOCK_START,
        count: 2,
        min_ns: 20,
        max_ns: 30,
        mean_ns: 25,
        p50_ns: 20,
        p95_ns: 30,
        p99_ns: 30,
        quantiles: { '0.25': 20, '1': 30 },
        le: { '20': { count: 1, fraction: 0.5 }, '25': { count: 1, fraction: 0.5 } },
        errors: 2,
      },
      emptyPoint(CLOCK_START + 1_000),
    ])
    const unfiltered = (await get(app, '/metrics/m/series?window_ms=2000&step_ms=1000')).points
    expect(unfiltered.map((p: SeriesPoint) => [p.count, p.errors])).toEqual([
      [0, 0],
      [4, 2],
      [2, 0],
    ])
    expect(unfiltered[1]).not.toHaveProperty('quantiles')
    expect(unfiltered[1]).not.toHaveProperty('le')
  })

  it('the points are the same whatever the step, summed: no sample is lost or counted twice', async () => {
    const { clock, app } = await serviceAt(CLOCK_START + 123)
    let posted = 0
    for (let i = 0; i < 40; i++) {
      const values = Array.from({ length: 1 + (i % 5) }, (_, k) => 1 + i * 10 + k)
      await postJson(app, '/metrics/m/latency', { latency_ns: values, status: i % 3 === 0 ? 500 : 200 })
      posted += values.length
      clock.advance(97 * (i % 7))
    }
    // 11,155 ms of writes: a window of 5,000 ms cuts through them.
    const snapshot = await get(app, '/metrics/m?window_ms=5000')
    expect(snapshot.count).toBeGreaterThan(0)
    expect(snapshot.count).toBeLessThan(posted)
    for (const step of [1, 7, 100, 333, 1000, 4_999, 5_000, 5_001, 60_000]) {
      const { points } = await get(app, `/metrics/m/series?window_ms=5000&step_ms=${step}`)
      const count = points.reduce((s: number, p: SeriesPoint) => s + p.count, 0)
      const errors = points.reduce((s: number, p: SeriesPoint) => s + p.errors, 0)
      expect([count, errors], `step ${step}`).toEqual([snapshot.count, snapshot.errors])
    }
    expect(snapshot.total).toBe(posted)
  })
})

describe('the store clock', () => {
  it('without an injected clock, t_ms is Unix time in ms: the last step holds the time of the request', async () => {
    const app = await start({ windowMs: 3_600_000 })
    const before = Date.now()
    await postJson(app, '/metrics/m/latency', { latency_ns: 5 })
    const { points } = await get(app, '/metrics/m/series?window_ms=3600000&step_ms=60000')
    const after = Date.now()
    for (const p of points) expect(p.t_ms % 60_000).toBe(0)
    const last = points[points.length - 1]
    // Monotonic time plus an offset fixed at start-up: within a minute of Date.now() in a fresh process.
    expect(last.t_ms).toBeGreaterThan(before - 120_000)
    expect(last.t_ms).toBeLessThanOrEqual(after + 60_000)
    expect(points.reduce((s: number, p: SeriesPoint) => s + p.count, 0)).toBe(1)
  })
})

describe('step_ms', () => {
  async function withSample() {
    const clock = manualClock(CLOCK_START + 777)
    const app = await start({ now: clock.now })
    await postJson(app, '/metrics/m/latency', { latency_ns: 5 })
    return app
  }

  it('defaults to the window divided by 60, rounded up', async () => {
    const app = await withSample()
    for (const [query, step] of [
      ['', 1_000],
      ['?window_ms=60000', 1_000],
      ['?window_ms=1000', 17],
      ['?window_ms=59', 1],
      ['?window_ms=60', 1],
      ['?window_ms=61', 2],
      ['?window_ms=1', 1],
    ] as const) {
      const series = await get(app, `/metrics/m/series${query}`)
      expect(series.step_ms, query).toBe(step)
      for (const p of series.points) expect(p.t_ms % step, query).toBe(0)
    }
  })

  it('more than 10,000 points is 400 with a message naming the limit; up to the limit answers', async () => {
    const app = await withSample()
    // window W at step S overlaps ceil(W / S) or ceil(W / S) + 1 steps, by where now falls.
    for (const query of ['window_ms=10000&step_ms=1', 'window_ms=60000&step_ms=5', 'step_ms=1']) {
      const message = expectError(await app.inject({ method: 'GET', url: `/metrics/m/series?${query}` }), 400)
      expect(message, query).toMatch(/10,?000/)
    }
    for (const [query, max] of [
      ['window_ms=9999&step_ms=1', 10_000],
      ['window_ms=60000&step_ms=7', 8_573],
    ] as const) {
      const { points } = await get(app, `/metrics/m/series?${query}`)
      expect(points.length, query).toBeLessThanOrEqual(Math.min(max, MAX_POINTS))
      expect(points.reduce((s: number, p: SeriesPoint) => s + p.count, 0)).toBe(1)
    }
  })

  it('the limit counts the points of the series at the time it is asked for: 10,000 answers, 10,001 is 400', async () => {
    // A window of 19,999 ms at 2 ms steps overlaps 10,000 steps when now is odd, 10,001 when it is even.
    const clock = manualClock(CLOCK_START + 1)
    const app = await start({ now: clock.now })
    await postJson(app, '/metrics/m/latency', { latency_ns: 5 })
    const url = '/metrics/m/series?window_ms=19999&step_ms=2'
    const { points } = await get(app, url)
    expect(points).toHaveLength(MAX_POINTS)
    expect(points[0].t_ms).toBe(CLOCK_START + 1 - 19_999)
    expect(points.reduce((s: number, p: SeriesPoint) => s + p.count, 0)).toBe(1)
    clock.advance(1)
    const message = expectError(await app.inject({ method: 'GET', url }), 400)
    expect(message).toContain('10001 points')
    expect(message).toMatch(/at most 10,?000/)
  })

  it('a step longer than the window gives one or two points', async () => {
    const app = await withSample()
    for (const step of [60_001, 1_000_000, 10 ** 14, Number.MAX_SAFE_INTEGER]) {
      const { points } = await get(app, `/metrics/m/series?step_ms=${step}`)
      expect(points.length, String(step)).toBeGreaterThanOrEqual(1)
      expect(points.length, String(step)).toBeLessThanOrEqual(2)
      expect(points.reduce((s: number, p: SeriesPoint) => s + p.count, 0)).toBe(1)
      for (const p of points) expect(p.t_ms % step).toBe(0)
    }
  })

  it('bad step_ms is 400 naming step_ms', async () => {
    const app = await withSample()
    // Past 2^53 - 1 a step would not be exact (and 309 digits would read as Infinity).
    for (const text of ['0', '-1', '1.5', 'abc', '', '1e3', '0x10', '%201', '1,2', '-0', '9007199254740992', '1'.repeat(17), '9'.repeat(400)]) {
      const message = expectError(await app.inject({ method: 'GET', url: `/metrics/m/series?step_ms=${text}` }), 400)
      expect(message, text).toMatch(/step_ms/)
    }
  })

  it('bad window_ms and quantiles are 400 here too', async () => {
    const app = await withSample()
    for (const query of ['window_ms=0', 'window_ms=60001', 'window_ms=abc', 'quantiles=0', 'quantiles=1.5']) {
      expectError(await app.inject({ method: 'GET', url: `/metrics/m/series?${query}` }), 400)
    }
  })

  it('unknown id is 404 naming it; a malformed id is 400', async () => {
    const app = await withSample()
    expect(expectError(await app.inject({ method: 'GET', url: '/metrics/nope/series' }), 404)).toContain('nope')
    expect(expectError(await app.inject({ method: 'GET', url: '/metrics/nope/series?step_ms=1000&status=2xx' }), 404)).toContain('nope')
    expectError(await app.inject({ method: 'GET', url: `/metrics/${'x'.repeat(129)}/series` }), 400)
  })
})

describe('a metric removed while its series is computed', () => {
  /** Every step of a series in a slice of its own: performance.now advances 5 ms a reading, past the 4 ms slice. */
  function sliceEveryStep() {
    let fake = performance.now()
    return vi.spyOn(performance, 'now').mockImplementation(() => (fake += 5))
  }

  async function storeWithSamples() {
    const clock = manualClock(CLOCK_START)
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 1_000, windowMs: WINDOW_MS, now: clock.now })
    for (let i = 0; i < 60; i++) {
      store.ingestSamples('x', [1_000 + i, 2_000 + i])
      clock.advance(1_000)
    }
    return store
  }

  afterEach(() => vi.restoreAllMocks())

  it('store: deleted, or deleted and created again, between two slices: MetricRemoved, not the points left', async () => {
    for (const recreate of [false, true]) {
      const store = await storeWithSamples()
      const spy = sliceEveryStep()
      const pending = store.series(store.get('x')!, readOptions({ windowMs: WINDOW_MS }), 1_000)
      // The first step is computed, then the series yields: the DELETE comes in between.
      store.delete('x')
      if (recreate) store.ingestSamples('x', [5, 6, 7])
      expect(await pending, `recreate ${recreate}`).toBeInstanceOf(MetricRemoved)
      spy.mockRestore()
      // Untouched, the same series answers in full.
      const again = computedSeries(await store.series(store.get('x') ?? store.acquire('x')!, readOptions({ windowMs: WINDOW_MS }), 1_000))
      expect(again.points.reduce((n, p) => n + p.count, 0)).toBe(recreate ? 3 : 0)
    }
  })

  it('store: written to between two slices, the series still answers', async () => {
    const store = await storeWithSamples()
    sliceEveryStep()
    const pending = store.series(store.get('x')!, readOptions({ windowMs: WINDOW_MS }), 1_000)
    store.ingestSamples('x', [7])
    expect(computedSeries(await pending).points.length).toBeGreaterThan(1)
  })

  it('HTTP: the series of an id deleted meanwhile is 404, as if the DELETE had come first', async () => {
    const app = await start()
    await postJson(app, '/metrics/x/latency', { latency_ns: [1, 2, 3] })
    const series = app.store.series.bind(app.store)
    app.store.series = (metric, options, stepMs) => {
      const pending = series(metric, options, stepMs)
      app.store.delete('x')
      return pending
    }
    sliceEveryStep()
    const res = await app.inject({ method: 'GET', url: '/metrics/x/series?window_ms=60000&step_ms=1000' })
    expect(expectError(res, 404)).toContain('x')
  })
})
