import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_BUCKET_BOUNDS_NS } from '../src/store/histogram-buckets.js'
import { MetricStore, type MetricStoreOptions } from '../src/store/metric-store.js'
import { type ReadOptions, parseQuantiles, parseStatusFilter, parseThresholds } from '../src/store/read-options.js'
import { NO_STATUS } from '../src/store/sample-layout.js'
import { decodeState, encodeState } from '../src/store/state-file.js'
import { type Service, startService } from '../src/service.js'
import { computedSeries, postJson, testConfig } from './helper.js'
import { exactSum, manualClock, refBucketIndex } from './reference.js'
import { CLOCK_START, replayIntoStore, writesArb } from './status-writes.js'

// Statuses and their counters through the state file (issue 11): a save and a
// load change no answer (statuses, filters, le, series, responses_total), a
// metric without statuses gets no status column back, and a file written by the
// release before statuses (test/fixtures/state-v1.bin) loads with every number.

const WINDOW_MS = 60_000
/** Wall-clock time of the saves in the store-level tests. */
const WALL = 1_790_000_000_000

function parsed<T>(v: T | string): T {
  if (typeof v === 'string') throw new Error(`malformed test query: ${v}`)
  return v
}

/** Reads that cover every windowed field: plain, filtered by class and code, with quantiles and thresholds. */
const READS: ReadOptions[] = [
  { windowMs: WINDOW_MS },
  { windowMs: WINDOW_MS, status: parsed(parseStatusFilter('2xx')), le: parsed(parseThresholds('5,1000,2000000')) },
  { windowMs: WINDOW_MS, status: parsed(parseStatusFilter('0,5xx,999,404')), quantiles: parsed(parseQuantiles('0.25,0.9,1')) },
  { windowMs: 10_000, quantiles: parsed(parseQuantiles('0.001')), le: parsed(parseThresholds('20')) },
]

/** Everything a reader can learn about a metric: snapshots, series, status totals, and whether its ring has a status column. */
async function observe(store: MetricStore, id: string, stepMs: number) {
  const metric = store.get(id)!
  return {
    snapshots: READS.map((options) => store.snapshot(metric, options)),
    series: await Promise.all(READS.map(async (options) => computedSeries(await store.series(metric, options, stepMs)))),
    statusTotals: metric.statusCounts(),
  }
}

describe('save and load with statuses (store level, explicit wall-clock times)', () => {
  it('after a downtime, every answer equals that of the store that kept running (property)', async () => {
    const writes = writesArb({
      advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: WINDOW_MS / 3 })),
      minWrites: 1,
      maxWrites: 15,
    })
    await fc.assert(
      fc.asyncProperty(
        writes,
        fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: 2 * WINDOW_MS })),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 200, max: 20_000 }), // a few hundred points at most
        async (script, downtime, maxSamples, stepMs) => {
          const clock = manualClock(CLOCK_START)
          const options: MetricStoreOptions = { maxMetrics: 10, maxSamples, windowMs: WINDOW_MS, now: clock.now }
          const running = new MetricStore(options)
          const samples = replayIntoStore(running, 'm', clock, script)
          expect(running.ingestSamples('plain', [3, 4, 5])).toBe(3)
          expect(running.ingestJobEvents('m', 'started', 2)).toBe(2)
          const file = await encodeState(running, WALL)

          clock.advance(downtime)
          const loaded = new MetricStore({ ...options, now: manualClock(clock.now()).now })
          decodeState(loaded, file, WALL + downtime)
          for (const id of ['m', 'plain']) {
            expect(await observe(loaded, id, stepMs), id).toEqual(await observe(running, id, stepMs))
            expect(loaded.get(id)!.total).toBe(running.get(id)!.total)
          }
          // A status column comes back only for a ring that holds a sample with a status.
          const loadedSamples = samples.slice(-maxSamples).filter((s) => clock.now() - s.time < WINDOW_MS)
          expect(loaded.get('m')!.hasStatuses).toBe(loadedSamples.some((s) => s.status !== undefined))
          expect(loaded.get('plain')!.hasStatuses).toBe(false)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('each sample keeps its value, its age and its status', async () => {
    const clock = manualClock(CLOCK_START)
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 100, windowMs: WINDOW_MS, now: clock.now })
    store.ingestSamples('m', 10, 0)
    clock.advance(1_000)
    store.ingestSamples('m', [20, 30])
    clock.advance(1_000)
    store.ingestSamples('m', [40, 50, 60], [999, 200, 503])
    clock.advance(500)
    const file = await encodeState(store, WALL)
    const loaded = new MetricStore({ maxMetrics: 10, maxSamples: 100, windowMs: WINDOW_MS, now: () => 7_000_000 })
    decodeState(loaded, file, WALL + 250)
    const contents: number[][] = []
    loaded.get('m')!.forEach((value, time, status) => contents.push([value, 7_000_000 - time, status]))
    expect(contents).toEqual([
      [10, 2_750, 0],
      [20, 1_750, NO_STATUS],
      [30, 1_750, NO_STATUS],
      [40, 750, 999],
      [50, 750, 200],
      [60, 750, 503],
    ])
    expect(loaded.get('m')!.statusCounts()).toEqual([
      [0, 1],
      [200, 1],
      [503, 1],
      [999, 1],
    ])
  })

  it('status totals count every sample since creation, also those the ring dropped or the downtime aged out', async () => {
    const clock = manualClock(CLOCK_START)
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 4, windowMs: WINDOW_MS, now: clock.now })
    store.ingestSamples('m', [1, 2, 3, 4, 5, 6], 500) // the ring of 4 keeps 3..6
    clock.advance(30_000)
    store.ingestSamples('m', [7, 8], [200, 0]) // keeps 5..8
    const file = await encodeState(store, WALL)
    const loaded = new MetricStore({ maxMetrics: 10, maxSamples: 4, windowMs: WINDOW_MS, now: () => CLOCK_START })
    decodeState(loaded, file, WALL + 40_000) // 5 and 6 are 70 s old by now: gone
    const m = loaded.get('m')!
    expect(m.statusCounts()).toEqual([
      [0, 1],
      [200, 1],
      [500, 6],
    ])
    expect(m.total).toBe(8)
    expect(loaded.snapshot(m, { windowMs: WINDOW_MS })).toMatchObject({ count: 2, statuses: { '200': 1, '0': 1 }, errors: 1, error_rate: 0.5 })
  })
})

describe('restart of the whole service with STATE_FILE', () => {
  let dir: string
  const services: Service[] = []
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latency-tracker-statuses-'))
  })
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()))
    await rm(dir, { recursive: true, force: true })
  })

  /** The service on a manual clock, saving to the test's state file only when it stops. */
  async function startOn(now: () => number): Promise<Service> {
    const config = testConfig({ stateFile: join(dir, 'state.bin'), stateIntervalMs: 3_600_000, windowMs: 3_600_000, maxSamples: 20, maxEventLoopDelayMs: 0 })
    const service = await startService(config, { now })
    services.push(service)
    return service
  }

  async function stop(service: Service) {
    services.splice(services.indexOf(service), 1)
    await service.stop()
  }

  const QUERIES = ['', '?status=2xx', '?status=5xx,0&le_ns=1500,100000&quantiles=0.9', '?status=404,999&le_ns=1']

  /** Every snapshot for each query, and the status families of the Prometheus text. */
  async function observeHttp(service: Service) {
    const app = service.http
    const json = []
    for (const q of QUERIES) json.push((await app.inject({ method: 'GET', url: `/metrics${q}` })).json().metrics)
    const text = (await app.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body
    const statusLines = text.match(/^latency_tracker_(responses_total|window_errors)\{.*$/gm)
    return { json, statusLines }
  }

  it('statuses, filters, errors and responses_total are the same after a restart, and the counter goes on', async () => {
    const clock = manualClock(CLOCK_START)
    const first = await startOn(clock.now)
    const post = async (service: Service, id: string, body: unknown) =>
      expect((await postJson(service.http, `/metrics/${id}/latency`, body)).statusCode).toBe(202)
    await post(first, 'checkout', { latency_ns: 1200, status: 200 })
    await post(first, 'checkout', { latency_ns: [1500, 98000], status: 503 })
    await post(first, 'checkout', { latency_ns: [2100, 7, 64000, 900], status: [200, 0, 404, 200] })
    await post(first, 'plain', { latency_ns: [5, 6, 7] })
    await post(first, 'mixed', { latency_ns: [10, 20] })
    await post(first, 'mixed', { latency_ns: 30, status: 999 })
    clock.advance(1_000)
    await post(first, 'wrapped', { latency_ns: Array.from({ length: 25 }, (_, i) => i + 1), status: 500 }) // the ring of 20 keeps 6..25
    await post(first, 'wrapped', { latency_ns: [100, 200], status: [200, 201] })
    expect((await postJson(first.http, '/metrics/jobs-only/jobs', { event: 'created', count: 3 })).statusCode).toBe(202)

    const before = await observeHttp(first)
    expect(before.statusLines).toContain('latency_tracker_responses_total{id="wrapped",status="500"} 25')
    expect(before.statusLines).toContain('latency_tracker_responses_total{id="checkout",status="200"} 3')
    await stop(first)

    const second = await startOn(clock.now)
    expect(await observeHttp(second)).toEqual(before)
    // A metric that never received a status has no status column after the restart either.
    expect(second.store.get('plain')!.hasStatuses).toBe(false)
    expect(second.store.get('jobs-only')!.hasStatuses).toBe(false)
    expect(second.store.get('checkout')!.hasStatuses).toBe(true)
    expect(second.store.get('mixed')!.hasStatuses).toBe(true)

    await post(second, 'checkout', { latency_ns: [1, 2], status: 200 })
    const after = await observeHttp(second)
    expect(after.statusLines).toContain('latency_tracker_responses_total{id="checkout",status="200"} 5')
    expect(after.statusLines).toContain('latency_tracker_responses_total{id="checkout",status="503"} 2')
  })
})

describe('a state file of the release before statuses (test/fixtures/state-v1.bin)', () => {
  // What the fixture holds, from test/fixtures/README.md: saved at wall-clock
  // 1,800,000,000,000 when its store's clock read 2,200, from a ring of 50.
  const SAVED_AT_WALL = 1_800_000_000_000
  const SAVED_AT_CLOCK = 2_200
  const checkout = [
    { value: 1_200, time: 1_000 },
    { value: 1_500, time: 1_000 },
    { value: 98_000, time: 1_000 },
    { value: 2_100, time: 1_000 },
    { value: 7_000_000_000, time: 1_500 },
  ]
  const wrappedAll = Array.from({ length: 70 }, (_, i) => ({ value: (i + 1) * 1_000, time: 1_500 + 10 * i }))
  const wrappedKept = wrappedAll.slice(-50)
  const NOW = CLOCK_START

  async function load(downtime: number) {
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 50, windowMs: WINDOW_MS, now: () => NOW })
    const file = await readFile(new URL('./fixtures/state-v1.bin', import.meta.url))
    const summary = decodeState(store, file, SAVED_AT_WALL + downtime)
    return { store, summary }
  }

  /** [value, age now, status] of each sample the ring holds, oldest first. */
  function contents(store: MetricStore, id: string) {
    const out: number[][] = []
    store.get(id)!.forEach((value, time, status) => out.push([value, NOW - time, status]))
    return out
  }

  /** What the ring should hold: the samples whose age (at save, plus the downtime) is under the window, with no status. */
  function expected(samples: ReadonlyArray<{ value: number; time: number }>, downtime: number) {
    return samples.map((s) => [s.value, SAVED_AT_CLOCK - s.time + downtime, NO_STATUS]).filter(([, age]) => age < WINDOW_MS)
  }

  function bucketCounts(values: readonly number[]) {
    const counts = new Array<number>(DEFAULT_BUCKET_BOUNDS_NS.length + 1).fill(0)
    for (const v of values) counts[refBucketIndex(DEFAULT_BUCKET_BOUNDS_NS, v)]++
    return counts
  }

  it.each([0, 59_000])('loads every id, sample, age, total, sum, job count and bucket (downtime %i ms)', async (downtime) => {
    const { store, summary } = await load(downtime)
    const kept = { checkout: expected(checkout, downtime), wrapped: expected(wrappedKept, downtime) }
    expect(summary).toMatchObject({ metrics: 3, samples: kept.checkout.length + kept.wrapped.length, skipped: 0 })
    expect(store.sorted().map((m) => m.id)).toEqual(['checkout', 'jobs.only:x-y', 'wrapped'])

    expect(contents(store, 'checkout')).toEqual(kept.checkout)
    expect(contents(store, 'wrapped')).toEqual(kept.wrapped)
    expect(contents(store, 'jobs.only:x-y')).toEqual([])
    if (downtime === 59_000) expect(kept.checkout.map(([v]) => v)).toEqual([7_000_000_000]) // the four older ones aged out

    const c = store.get('checkout')!
    expect([c.total, c.sumNs]).toEqual([5, Number(exactSum(checkout.map((s) => s.value)))])
    expect(c.jobCounts()).toEqual({ created: 0, started: 3, completed: 2, failed: 1, retried: 0, in_progress: 0 })
    const j = store.get('jobs.only:x-y')!
    expect([j.total, j.sumNs]).toEqual([0, 0])
    expect(j.jobCounts()).toEqual({ created: 5, started: 0, completed: 0, failed: 0, retried: 0, in_progress: 0 })
    const w = store.get('wrapped')!
    expect([w.total, w.sumNs]).toEqual([70, Number(exactSum(wrappedAll.map((s) => s.value)))])
    expect(w.jobCounts()).toEqual({ created: 0, started: 0, completed: 0, failed: 0, retried: 0, in_progress: 0 })
    // Its last write was its newest sample, 10 ms before the save.
    expect(NOW - w.lastWriteAt).toBe(10 + downtime)

    // The same bucket bounds: the histograms carry over, every value of the id's life in its bucket.
    for (const [metric, values] of [
      [c, checkout.map((s) => s.value)],
      [j, []],
      [w, wrappedAll.map((s) => s.value)],
    ] as const) {
      store.settle(metric)
      expect(
        Array.from({ length: metric.histogramBucketCount }, (_, i) => metric.bucketCount(i)),
        metric.id,
      ).toEqual(bucketCounts(values))
    }

    // No statuses: no status column, no status totals, and every read says so.
    for (const metric of [c, j, w]) {
      expect(metric.hasStatuses, metric.id).toBe(false)
      expect(metric.statusCounts(), metric.id).toEqual([])
      expect(store.snapshot(metric, { windowMs: WINDOW_MS }), metric.id).toMatchObject({ statuses: {}, errors: 0, error_rate: null })
      expect(store.snapshot(metric, { windowMs: WINDOW_MS, status: parsed(parseStatusFilter('1xx,2xx,3xx,4xx,5xx,0')) }).count, metric.id).toBe(0)
    }
  })

  it('samples keep their real age: windows and series place them where they were', async () => {
    const { store } = await load(0)
    const c = store.get('checkout')!
    // The four samples recorded at clock 1,000 are 1,200 ms old; the last one 700 ms.
    expect(store.snapshot(c, { windowMs: 1_201 }).count).toBe(5)
    expect(store.snapshot(c, { windowMs: 1_200 }).count).toBe(1)
    expect(store.snapshot(c, { windowMs: 701 }).count).toBe(1)
    expect(store.snapshot(c, { windowMs: 700 }).count).toBe(0)
    const series = computedSeries(await store.series(c, { windowMs: 2_000 }, 100)) // NOW is a multiple of 100
    expect(series.points.filter((p) => p.count > 0).map((p) => [NOW - p.t_ms, p.count, p.min_ns, p.max_ns])).toEqual([
      [1_200, 4, 1_200, 98_000],
      [700, 1, 7_000_000_000, 7_000_000_000],
    ])
  })

  it('takes statuses after the load, and a save and load keep old samples without status beside new ones with', async () => {
    const { store } = await load(0)
    expect(store.ingestSamples('checkout', [10, 20], [200, 503])).toBe(2)
    const file = await encodeState(store, SAVED_AT_WALL)
    const again = new MetricStore({ maxMetrics: 10, maxSamples: 50, windowMs: WINDOW_MS, now: () => NOW })
    decodeState(again, file, SAVED_AT_WALL)
    expect(contents(again, 'checkout')).toEqual([...expected(checkout, 0), [10, 0, 200], [20, 0, 503]])
    expect(again.get('checkout')!.statusCounts()).toEqual([
      [200, 1],
      [503, 1],
    ])
    expect(again.snapshot(again.get('checkout')!, { windowMs: WINDOW_MS })).toMatchObject({
      count: 7,
      total: 7,
      statuses: { '200': 1, '503': 1 },
      errors: 1,
      error_rate: 0.5,
    })
    expect(again.get('wrapped')!.hasStatuses).toBe(false)
  })
})
