import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_BUCKET_BOUNDS_NS } from '../src/store/histogram-buckets.js'
import { JOB_EVENTS, type Metric } from '../src/store/metric.js'
import { type MetricSnapshot, MetricStore, type MetricStoreOptions } from '../src/store/metric-store.js'
import { type Quantile, quantile } from '../src/store/quantile.js'
import type { RingPool } from '../src/store/ring-pool.js'
import type { SampleRing } from '../src/store/sample-ring.js'
import { ServiceSlot } from '../src/store/service-counters.js'
import {
  type TimedSample,
  closeToMean,
  inWindow,
  isValidQuantileText,
  manualClock,
  nearestRank,
  refBucketIndex,
  refMax,
  refMean,
  refMin,
  ringContents,
} from './reference.js'

const WINDOW_MS = 60_000

function makeStore(options: Partial<MetricStoreOptions> = {}) {
  const clock = manualClock()
  const store = new MetricStore({ maxMetrics: 100, maxSamples: 1000, windowMs: WINDOW_MS, now: clock.now, ...options })
  return { store, clock }
}

/** A ring's region in its pool, and the store's pool (private fields, read to check reuse). */
function regionOf(ring: SampleRing) {
  const r = ring as unknown as { slots: Float64Array; base: number }
  return { array: r.slots, base: r.base }
}
function ringPoolOf(store: MetricStore): RingPool {
  return (store as unknown as { shared: { pool: RingPool } }).shared.pool
}

function acquire(store: MetricStore, id: string): Metric {
  const metric = store.acquire(id)
  if (metric === undefined) throw new Error(`store refused ${id}`)
  return metric
}

/** What a snapshot should say about `ring` (the samples still held, oldest first) at `now`. */
function expectedStats(ring: readonly TimedSample[], now: number, windowMs: number, extra: readonly string[] = []) {
  const values = inWindow(ring, now, windowMs).map((s) => s.value)
  const n = values.length
  const q = (text: string) => (n === 0 ? null : nearestRank(values, text))
  return {
    count: n,
    min_ns: refMin(values),
    max_ns: refMax(values),
    mean_ns: refMean(values),
    p50_ns: q('0.5'),
    p95_ns: q('0.95'),
    p99_ns: q('0.99'),
    quantiles: Object.fromEntries(extra.map((text) => [text, q(text)])),
    values,
  }
}

/** Compares a snapshot with expectedStats: exact for everything but the mean (float sum vs exact sum). */
function expectMatches(snap: MetricSnapshot, want: ReturnType<typeof expectedStats>, extra: readonly string[] = []) {
  expect(snap.count).toBe(want.count)
  expect(snap.min_ns).toBe(want.min_ns)
  expect(snap.max_ns).toBe(want.max_ns)
  expect(snap.p50_ns).toBe(want.p50_ns)
  expect(snap.p95_ns).toBe(want.p95_ns)
  expect(snap.p99_ns).toBe(want.p99_ns)
  if (want.mean_ns === null) expect(snap.mean_ns).toBeNull()
  else {
    expect(snap.mean_ns).not.toBeNull()
    if (!closeToMean(snap.mean_ns as number, want.mean_ns, want.count)) {
      expect.fail(`mean ${snap.mean_ns} is not close to the exact mean ${want.mean_ns} of ${want.count} values`)
    }
  }
  if (extra.length === 0) expect(snap.quantiles).toBeUndefined()
  else expect(snap.quantiles).toEqual(want.quantiles)
}

const parse = (texts: readonly string[]): Quantile[] => texts.map((t) => quantile(t))

describe('MetricStore window', () => {
  it('a sample exactly windowMs old is out, one ms younger is in', () => {
    const { store, clock } = makeStore()
    const m = acquire(store, 'api')
    store.recordLatency(m, 500)
    clock.advance(WINDOW_MS - 1)
    expect(store.snapshot(m, { windowMs: WINDOW_MS }).count).toBe(1)
    clock.advance(1)
    expect(store.snapshot(m, { windowMs: WINDOW_MS }).count).toBe(0)
  })

  it('applies the same boundary to batches recorded with recordLatencies', () => {
    const { store, clock } = makeStore()
    const m = acquire(store, 'api')
    store.recordLatencies(m, [3, 1, 2])
    clock.advance(10)
    store.recordLatencies(m, [40, 50])
    clock.advance(WINDOW_MS - 10)
    // The first batch is exactly windowMs old: out. The second is 10 ms younger: in.
    const snap = store.snapshot(m, { windowMs: WINDOW_MS })
    expect(snap.count).toBe(2)
    expect([snap.min_ns, snap.max_ns]).toEqual([40, 50])
  })

  it('snapshot({ windowMs }) narrows the window like ?window_ms', () => {
    const { store, clock } = makeStore()
    const m = acquire(store, 'api')
    const ring: TimedSample[] = []
    for (let i = 0; i < 200; i++) {
      const value = ((i * 7919) % 1000) + 1
      store.recordLatency(m, value)
      ring.push({ value, time: clock.now() })
      clock.advance(i % 5 === 0 ? 0 : 3)
    }
    for (const windowMs of [1, 2, 3, 4, 10, 100, 299, 300, 301, 477, WINDOW_MS]) {
      const snap = store.snapshot(m, { windowMs })
      expect(snap.window_ms).toBe(windowMs)
      expectMatches(snap, expectedStats(ring, clock.now(), windowMs))
    }
  })

  it('taking a snapshot does not disturb the samples', () => {
    const { store, clock } = makeStore()
    const m = acquire(store, 'api')
    const values = [9, 3, 7, 3, 1, 8, 2]
    for (const v of values) {
      store.recordLatency(m, v)
      clock.advance(1)
    }
    const q = parse(['0.3', '0.7'])
    const first = store.snapshot(m, { windowMs: WINDOW_MS, quantiles: q })
    const second = store.snapshot(m, { windowMs: WINDOW_MS, quantiles: q })
    expect(second).toEqual(first)
    const held: number[] = []
    m.forEach((v) => held.push(v))
    expect(held).toEqual(values)
  })
})

describe('MetricStore count and total', () => {
  it('total counts every sample since creation; count only in-window samples still in the ring', () => {
    const maxSamples = 5
    const { store, clock } = makeStore({ maxSamples })
    const m = acquire(store, 'api')
    for (let i = 1; i <= 3; i++) store.recordLatency(m, i)
    let snap = store.snapshot(m, { windowMs: WINDOW_MS })
    expect([snap.count, snap.total]).toEqual([3, 3])

    store.recordLatencies(m, [4, 5, 6, 7]) // ring overwrite: count is capped, total is not
    snap = store.snapshot(m, { windowMs: WINDOW_MS })
    expect([snap.count, snap.total]).toEqual([maxSamples, 7])
    expect([snap.min_ns, snap.max_ns]).toEqual([3, 7])

    clock.advance(WINDOW_MS) // everything ages out: count falls, total stays
    snap = store.snapshot(m, { windowMs: WINDOW_MS })
    expect([snap.count, snap.total]).toEqual([0, 7])
    expect(m.total).toBe(7)
  })

  it('all six stats are null when count is 0, and extra quantiles are null too', () => {
    const { store, clock } = makeStore()
    const m = acquire(store, 'fresh')
    const nulls = { min_ns: null, max_ns: null, mean_ns: null, p50_ns: null, p95_ns: null, p99_ns: null }
    expect(store.snapshot(m, { windowMs: WINDOW_MS })).toMatchObject({ count: 0, total: 0, ...nulls })

    store.recordLatency(m, 123)
    clock.advance(WINDOW_MS)
    const snap = store.snapshot(m, { windowMs: WINDOW_MS, quantiles: parse(['0.9', '.25']) })
    expect(snap).toMatchObject({ count: 0, total: 1, ...nulls })
    expect(snap.quantiles).toEqual({ '0.9': null, '.25': null })
  })

  it('mean is exact for small values', () => {
    const { store } = makeStore()
    const m = acquire(store, 'api')
    store.recordLatencies(m, [1, 2, 3, 4])
    expect(store.snapshot(m, { windowMs: WINDOW_MS }).mean_ns).toBe(2.5)
  })

  it('sumNs accumulates every recorded value', () => {
    const { store } = makeStore({ maxSamples: 2 })
    const m = acquire(store, 'api')
    store.recordLatency(m, 10)
    store.recordLatencies(m, [20, 30, 40])
    expect(m.sumNs).toBe(100)
  })
})

describe('MetricStore extra quantiles', () => {
  it('are keyed by their exact text, including spellings of the same number', () => {
    const { store } = makeStore()
    const m = acquire(store, 'api')
    const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1)
    store.recordLatencies(m, values)
    const texts = ['0.5', '.5', '0.50', '1', '1.0', '0.07', '0.999', '0.001']
    const snap = store.snapshot(m, { windowMs: WINDOW_MS, quantiles: parse(texts) })
    expect(Object.keys(snap.quantiles ?? {}).sort()).toEqual([...texts].sort())
    for (const t of texts) expect(snap.quantiles?.[t]).toBe(nearestRank(values, t))
    expect(snap.quantiles?.['0.07']).toBe(7) // values are a permutation of 1..100
    expect(snap.quantiles?.['.5']).toBe(snap.p50_ns)
  })

  it('is absent from the snapshot when none are asked for', () => {
    const { store } = makeStore()
    const m = acquire(store, 'api')
    store.recordLatency(m, 5)
    expect('quantiles' in store.snapshot(m, { windowMs: WINDOW_MS })).toBe(false)
  })
})

describe('MetricStore snapshots vs reference (property)', () => {
  const valueArb = fc.oneof(
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    fc.maxSafeNat().filter((v) => v > 0),
  )
  const quantileTextArb = fc
    .oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 5 }).map((f) => '0.' + f),
      fc.constantFrom('1', '1.0', '.5', '0.999', '0.07'),
    )
    .filter(isValidQuantileText)

  type Op =
    | { kind: 'record'; metric: number; values: number[]; batch: boolean }
    | { kind: 'advance'; ms: number }
    | { kind: 'snapshot'; metric: number; narrower: number | null; extra: string[] }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('record' as const),
        metric: fc.nat(2),
        values: fc.array(valueArb, { minLength: 1, maxLength: 8 }),
        batch: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(40) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('snapshot' as const),
        metric: fc.nat(2),
        narrower: fc.option(fc.integer({ min: 1, max: 200 })),
        extra: fc.array(quantileTextArb, { maxLength: 3 }),
      }),
    },
  )

  it('count, total, min, max, mean, p50/p95/p99 and extra quantiles equal the sort-based reference', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 200 }), fc.array(opArb, { maxLength: 60 }), (maxSamples, windowMs, ops) => {
        const { store, clock } = makeStore({ maxSamples, windowMs })
        const ids = ['a', 'b', 'c']
        const rings: TimedSample[][] = [[], [], []]
        const totals = [0, 0, 0]
        let samples = 0
        for (const op of ops) {
          if (op.kind === 'advance') clock.advance(op.ms)
          else if (op.kind === 'record') {
            const m = acquire(store, ids[op.metric])
            if (op.batch) store.recordLatencies(m, op.values)
            else for (const v of op.values) store.recordLatency(m, v)
            const ring = rings[op.metric]
            for (const v of op.values) ring.push({ value: v, time: clock.now() })
            ring.splice(0, Math.max(0, ring.length - maxSamples))
            totals[op.metric] += op.values.length
            samples += op.values.length
          } else {
            const m = acquire(store, ids[op.metric])
            const w = op.narrower ?? windowMs
            const snap = store.snapshot(m, { windowMs: w, quantiles: op.extra.length ? parse(op.extra) : undefined })
            expect(snap.id).toBe(ids[op.metric])
            expect(snap.window_ms).toBe(w)
            expect(snap.total).toBe(totals[op.metric])
            expectMatches(snap, expectedStats(rings[op.metric], clock.now(), w, op.extra), op.extra)
          }
        }
        expect(store.samplesTotal).toBe(samples)
      }),
      { numRuns: 150 },
    )
  })
})

describe('MetricStore jobs', () => {
  it('counts each event and reports in_progress = max(0, started − completed − failed)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ event: fc.constantFrom(...JOB_EVENTS), count: fc.integer({ min: 1, max: 1000 }) }), {
          maxLength: 30,
        }),
        (events) => {
          const { store } = makeStore()
          const m = acquire(store, 'jobs')
          const model = { created: 0, started: 0, completed: 0, failed: 0, retried: 0 }
          for (const { event, count } of events) {
            store.recordJob(m, event, count)
            model[event] += count
          }
          const snap = store.snapshot(m, { windowMs: WINDOW_MS })
          expect(snap.jobs).toEqual({
            ...model,
            in_progress: Math.max(0, model.started - model.completed - model.failed),
          })
          // Jobs are not latency samples.
          expect(snap.count).toBe(0)
          expect(snap.total).toBe(0)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('in_progress never goes negative when more jobs finish than started', () => {
    const { store } = makeStore()
    const m = acquire(store, 'jobs')
    store.recordJob(m, 'started', 2)
    store.recordJob(m, 'completed', 3)
    store.recordJob(m, 'failed', 1)
    expect(store.snapshot(m, { windowMs: WINDOW_MS }).jobs.in_progress).toBe(0)
  })

  it('job counters stay exact past 2^32', () => {
    const { store } = makeStore()
    const m = acquire(store, 'jobs')
    store.recordJob(m, 'started', 2 ** 32 - 1)
    store.recordJob(m, 'started', 2)
    store.recordJob(m, 'completed', 1)
    const jobs = store.snapshot(m, { windowMs: WINDOW_MS }).jobs
    expect(jobs.started).toBe(2 ** 32 + 1)
    expect(jobs.in_progress).toBe(2 ** 32)
  })

  it('recording updates lastWriteAt to the clock time', () => {
    const { store, clock } = makeStore()
    const m = acquire(store, 'jobs')
    const created = clock.now()
    expect(m.lastWriteAt).toBe(created)
    clock.advance(50)
    store.recordJob(m, 'created', 1)
    expect(m.lastWriteAt).toBe(created + 50)
    clock.advance(25)
    store.recordLatency(m, 1)
    expect(m.lastWriteAt).toBe(created + 75)
    clock.advance(5)
    store.recordLatencies(m, [1, 2])
    expect(m.lastWriteAt).toBe(created + 80)
    clock.advance(5)
    store.snapshot(m, { windowMs: WINDOW_MS }) // reads are not writes
    expect(m.lastWriteAt).toBe(created + 80)
  })
})

describe('MetricStore arrival times', () => {
  /** A clock that moves 1 ms at every reading, and counts them. */
  function tickingStore() {
    let t = 1_000
    let reads = 0
    const store = new MetricStore({
      maxMetrics: 100,
      maxSamples: 1000,
      windowMs: WINDOW_MS,
      now: () => {
        reads++
        return ++t
      },
    })
    return { store, reads: () => reads }
  }
  const times = (m: Metric) => ringContents(m).map((s) => s.time)

  it('stamps each write outside arrivingTogether with a reading of its own', () => {
    const { store } = tickingStore()
    store.ingestSamples('a', 1)
    store.ingestSamples('a', 2)
    store.ingestSamples('a', [3, 4])
    expect(times(acquire(store, 'a'))).toEqual([1_002, 1_003, 1_004, 1_004])
  })

  it('stamps everything recorded inside arrivingTogether with one reading: samples, batches, job events, new metrics', () => {
    const { store, reads } = tickingStore()
    const before = reads()
    const result = store.arrivingTogether(() => {
      store.ingestSamples('a', 1)
      store.ingestSamples('b', [2, 3], 200)
      store.ingestSamples('a', 4)
      store.ingestJobEvents('c', 'started', 2)
      return 'done'
    })
    expect(result).toBe('done')
    expect(reads() - before).toBe(1)
    const t = acquire(store, 'a').lastWriteAt
    expect(times(acquire(store, 'a'))).toEqual([t, t])
    expect(times(acquire(store, 'b'))).toEqual([t, t])
    expect(acquire(store, 'c').lastWriteAt).toBe(t)
    // Afterwards, every write reads the clock again.
    store.ingestSamples('a', 5)
    expect(times(acquire(store, 'a'))).toEqual([t, t, t + 1])
  })

  it('keeps the outer reading in a nested call, and lets go of it when the record throws', () => {
    const { store } = tickingStore()
    store.arrivingTogether(() => {
      store.ingestSamples('a', 1)
      store.arrivingTogether(() => store.ingestSamples('a', 2))
      store.ingestSamples('a', 3)
    })
    const [t] = times(acquire(store, 'a'))
    expect(times(acquire(store, 'a'))).toEqual([t, t, t])
    expect(() =>
      store.arrivingTogether(() => {
        store.ingestSamples('a', 4)
        throw new Error('door failed')
      }),
    ).toThrow('door failed')
    store.ingestSamples('a', 5)
    store.ingestSamples('a', 6)
    const last = times(acquire(store, 'a')).slice(-3)
    expect(last[1]).toBeGreaterThan(last[0])
    expect(last[2]).toBeGreaterThan(last[1])
  })
})

describe('MetricStore capacity and lifecycle', () => {
  it('acquire returns undefined for a new id when maxMetrics is reached; existing ids still work', () => {
    const maxMetrics = 3
    const { store } = makeStore({ maxMetrics })
    const metrics = ['a', 'b', 'c'].map((id) => acquire(store, id))
    expect(store.size).toBe(maxMetrics)
    expect(store.acquire('d')).toBeUndefined()
    expect(store.size).toBe(maxMetrics)
    expect(store.get('d')).toBeUndefined()
    expect(store.acquire('b')).toBe(metrics[1])
    store.recordLatency(metrics[1], 9)
    expect(store.snapshot(metrics[1], { windowMs: WINDOW_MS }).count).toBe(1)
    // Deleting one frees a place.
    expect(store.delete('a')).toBe(true)
    expect(store.acquire('d')).toBeDefined()
    expect(store.acquire('e')).toBeUndefined()
  })

  it('delete releases the counters: a new metric with the same id starts from zero', () => {
    const { store } = makeStore({ bucketBoundsNs: [10, 100] })
    const old = acquire(store, 'api')
    const other = acquire(store, 'other')
    store.recordLatencies(old, [5, 50, 500])
    store.recordJob(old, 'started', 4)
    store.recordJob(other, 'failed', 2)
    store.recordLatency(other, 7)

    expect(store.delete('api')).toBe(true)
    expect(store.delete('api')).toBe(false)
    expect(store.get('api')).toBeUndefined()

    const fresh = acquire(store, 'api')
    expect(fresh).not.toBe(old)
    const snap = store.snapshot(fresh, { windowMs: WINDOW_MS })
    expect(snap).toMatchObject({ count: 0, total: 0 })
    expect(snap.jobs).toEqual({ created: 0, started: 0, completed: 0, failed: 0, retried: 0, in_progress: 0 })
    for (let i = 0; i <= 2; i++) expect(fresh.bucketCount(i)).toBe(0)

    // The released counters are reused rather than leaked (memory stays bounded under id churn).
    expect(fresh.counterBlock().cells).toBe(old.counterBlock().cells)
    expect(fresh.counterBlock().base).toBe(old.counterBlock().base)

    // The surviving metric kept its own counters.
    const otherSnap = store.snapshot(other, { windowMs: WINDOW_MS })
    expect(otherSnap).toMatchObject({ count: 1, total: 1 })
    expect(otherSnap.jobs.failed).toBe(2)
    expect(other.bucketCount(0)).toBe(1)
  })

  it('delete releases the ring: its region goes to the next new metric and the old ring reads empty', () => {
    const { store } = makeStore()
    const old = acquire(store, 'api')
    store.recordLatencies(old, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) // a 10-pair region
    const other = acquire(store, 'other')
    store.recordLatency(other, 77)
    const region = regionOf(old)
    const ringBytes = store.ringBytes()

    expect(store.delete('api')).toBe(true)
    expect(old.size).toBe(0)
    expect(old.byteLength).toBe(0)
    expect(store.ringBytes()).toBe(ringBytes - 10 * 16)

    const fresh = acquire(store, 'new')
    store.recordLatencies(fresh, new Array<number>(9).fill(5))
    expect(regionOf(fresh)).toEqual(region)
    // A stale reference to the deleted metric sees nothing of the new one.
    expect(store.snapshot(old, { windowMs: WINDOW_MS }).count).toBe(0)
    old.forEach(() => {
      throw new Error('a released ring has no samples')
    })
    expect(store.snapshot(fresh, { windowMs: WINDOW_MS })).toMatchObject({ count: 9, min_ns: 5, max_ns: 5 })
    expect(store.snapshot(other, { windowMs: WINDOW_MS })).toMatchObject({ count: 1, min_ns: 77 })
  })

  it('ring memory stays bounded when ids come and go (delete, clear, idle eviction)', () => {
    const { store, clock } = makeStore({ maxMetrics: 50 })
    const pool = ringPoolOf(store)
    const fill = (round: number) => {
      for (let i = 0; i < 50; i++) store.recordLatencies(acquire(store, `r${round}-${i}`), new Array<number>(1 + (i % 40)).fill(i + 1))
    }
    fill(0)
    const bytes = pool.byteLength
    for (let round = 1; round <= 30; round++) {
      if (round % 3 === 0) store.clear()
      else if (round % 3 === 1) for (const m of store.sorted()) store.delete(m.id)
      else {
        clock.advance(1_000)
        expect(store.evictIdle(500)).toBe(50)
      }
      expect(store.size).toBe(0)
      expect(store.ringBytes()).toBe(0)
      fill(round)
      for (const m of store.sorted()) {
        const i = Number(m.id.split('-')[1])
        expect(store.snapshot(m, { windowMs: WINDOW_MS }), m.id).toMatchObject({ count: 1 + (i % 40), min_ns: i + 1, max_ns: i + 1 })
      }
    }
    expect(pool.byteLength).toBe(bytes)
  })

  it('clear releases every metric: re-created ids start from zero', () => {
    const { store } = makeStore()
    for (const id of ['a', 'b', 'c']) {
      const m = acquire(store, id)
      store.recordLatencies(m, [1, 2, 3])
      store.recordJob(m, 'created', 5)
    }
    store.clear()
    expect(store.size).toBe(0)
    expect(store.sorted()).toEqual([])
    for (const id of ['c', 'a', 'b', 'd']) {
      const snap = store.snapshot(acquire(store, id), { windowMs: WINDOW_MS })
      expect(snap).toMatchObject({ count: 0, total: 0, min_ns: null })
      expect(snap.jobs.created).toBe(0)
    }
  })

  it('ids like __proto__, constructor and toString are ordinary ids', () => {
    const { store } = makeStore({ maxMetrics: 10 })
    const ids = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '']
    expect(store.get('constructor')).toBeUndefined()
    expect(store.get('__proto__')).toBeUndefined()
    ids.forEach((id, i) => {
      const m = acquire(store, id)
      expect(m.id).toBe(id)
      store.recordLatencies(
        m,
        Array.from({ length: i + 1 }, (_, k) => k + 1),
      )
    })
    expect(store.size).toBe(ids.length)
    ids.forEach((id, i) => {
      const m = store.get(id)
      expect(m?.id).toBe(id)
      const snap = store.snapshot(m as Metric, { windowMs: WINDOW_MS })
      expect(snap.id).toBe(id)
      expect(snap.count).toBe(i + 1)
    })
    expect(store.delete('__proto__')).toBe(true)
    expect(store.get('__proto__')).toBeUndefined()
    expect(store.get('constructor')?.id).toBe('constructor')
  })

  it('sorted() orders metrics by id in UTF-16 code unit order', () => {
    const { store } = makeStore()
    const ids = ['b', 'a', 'B', 'ä', '__proto__', 'a0', '10', '9', '\u{1F600}', '\uFFFF']
    for (const id of ids) acquire(store, id)
    expect(store.sorted().map((m) => m.id)).toEqual([...ids].sort())
  })
})

describe('MetricStore snapshot objects', () => {
  it('are fresh plain objects: mutating one does not affect the next', () => {
    const { store } = makeStore()
    const m = acquire(store, 'api')
    store.recordLatencies(m, [1, 2, 3, 4, 5])
    store.recordJob(m, 'started', 3)
    const options = { windowMs: WINDOW_MS, quantiles: parse(['0.9']) }
    const first = store.snapshot(m, options)
    const pristine = structuredClone(first)
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype)
    expect(Object.getPrototypeOf(first.jobs)).toBe(Object.prototype)
    expect(Object.getPrototypeOf(first.quantiles)).toBe(Object.prototype)

    first.count = -1
    first.p99_ns = -1
    first.jobs.started = 999
    ;(first.quantiles as Record<string, number | null>)['0.9'] = -1
    ;(first.quantiles as Record<string, number | null>).extra = 1

    const second = store.snapshot(m, options)
    expect(second).toEqual(pristine)
    expect(second).not.toBe(first)
    expect(second.jobs).not.toBe(first.jobs)
    expect(second.quantiles).not.toBe(first.quantiles)
    expect(JSON.parse(JSON.stringify(second))).toEqual(pristine)
  })
})

describe('MetricStore snapshots of a kept window', () => {
  it('are fresh objects too: mutating one (statuses included) does not change the window the metric keeps', () => {
    const { store } = makeStore({ maxSamples: 4_000 })
    const m = acquire(store, 'api')
    const values = Array.from({ length: 2_000 }, (_, i) => i + 1)
    store.ingestSamples(
      'api',
      values,
      values.map((v) => (v % 10 === 0 ? 503 : 200)),
    )
    const options = { windowMs: WINDOW_MS, quantiles: parse(['0.9']) }
    const first = store.snapshot(m, options)
    const pristine = structuredClone(first)
    expect(first.statuses).toEqual({ 200: 1_800, 503: 200 })
    first.statuses['200'] = -1
    first.statuses['999'] = 1
    ;(first.quantiles as Record<string, number | null>)['0.9'] = -1
    first.count = -1
    const second = store.snapshot(m, options)
    expect(second).toEqual(pristine)
    expect(second.statuses).not.toBe(first.statuses)
  })
})

describe('MetricStore histogram buckets', () => {
  function bucketCounts(store: MetricStore, m: Metric): number[] {
    store.settle(m)
    return Array.from({ length: store.bucketBoundsNs.length + 1 }, (_, i) => m.bucketCount(i))
  }

  function refCounts(bounds: readonly number[], values: readonly number[]): number[] {
    const counts = new Array<number>(bounds.length + 1).fill(0)
    for (const v of values) counts[refBucketIndex(bounds, v)]++
    return counts
  }

  it('uses le semantics: a value equal to a bound is counted in that bound', () => {
    const bounds = [10, 100, 1000]
    const { store } = makeStore({ bucketBoundsNs: bounds })
    const m = acquire(store, 'api')
    const values = [1, 10, 11, 100, 101, 1000, 1001, Number.MAX_SAFE_INTEGER]
    for (const v of values) store.recordLatency(m, v)
    expect(bucketCounts(store, m)).toEqual(refCounts(bounds, values))
    expect(bucketCounts(store, m)).toEqual([2, 2, 2, 2]) // spelled out once to pin down `le`
  })

  it('match the reference assignment for recordLatency and recordLatencies (property)', () => {
    const boundsArb = fc.oneof(
      fc.constant([...DEFAULT_BUCKET_BOUNDS_NS]),
      fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 8 }).map((b) => b.sort((x, y) => x - y)),
    )
    fc.assert(
      fc.property(
        boundsArb.chain((bounds) =>
          fc.record({
            bounds: fc.constant(bounds),
            batches: fc.array(
              fc.record({
                batch: fc.boolean(),
                readAfter: fc.boolean(),
                values: fc.array(
                  fc.oneof(
                    fc.constantFrom(...bounds),
                    fc.constantFrom(...bounds).map((b) => b + 1),
                    fc.constantFrom(...bounds).map((b) => Math.max(1, b - 1)),
                    fc.integer({ min: 1, max: 20_000 }),
                    fc.maxSafeNat().filter((v) => v > 0),
                  ),
                  { maxLength: 20 },
                ),
              }),
              { maxLength: 10 },
            ),
          }),
        ),
        ({ bounds, batches }) => {
          const { store } = makeStore({ bucketBoundsNs: bounds, maxSamples: 4 })
          const m = acquire(store, 'api')
          const other = acquire(store, 'other')
          const all: number[] = []
          for (const { batch, readAfter, values } of batches) {
            if (batch) store.recordLatencies(m, values)
            else for (const v of values) store.recordLatency(m, v)
            store.recordLatency(other, 1) // a neighbour's writes must not leak into m's buckets
            all.push(...values)
            expect(m.total).toBe(all.length) // pending samples included, read or not
            // Reads settle the single samples in between; a ring of 4 overwrites pending ones.
            if (readAfter) expect(bucketCounts(store, m)).toEqual(refCounts(bounds, all))
          }
          const counts = bucketCounts(store, m)
          expect(counts).toEqual(refCounts(bounds, all))
          expect(counts.reduce((a, b) => a + b, 0)).toBe(m.total)
          expect(bucketCounts(store, other)).toEqual(
            refCounts(
              bounds,
              batches.map(() => 1),
            ),
          )
        },
      ),
      { numRuns: 150 },
    )
  })

  it('default bounds are 1, 2.5, 5 per decade from 1 µs to 50 s, then 60 s', () => {
    const { store } = makeStore()
    expect(Array.from(store.bucketBoundsNs)).toEqual([...DEFAULT_BUCKET_BOUNDS_NS])
    expect(DEFAULT_BUCKET_BOUNDS_NS[0]).toBe(1_000)
    expect(DEFAULT_BUCKET_BOUNDS_NS[DEFAULT_BUCKET_BOUNDS_NS.length - 1]).toBe(60e9)
    expect(DEFAULT_BUCKET_BOUNDS_NS).toContain(50e9)
  })
})

describe('MetricStore histogram buckets past 32 bits', () => {
  const jobs = { created: 0, started: 0, completed: 0, failed: 0, retried: 0 }
  const bounds = [10, 100, 1000]

  /** A metric whose buckets start at `start` (restored, as from a state file). */
  function metricAt(start: number[]) {
    const { store } = makeStore({ bucketBoundsNs: bounds })
    const m = acquire(store, 'big')
    m.restoreCounters({ total: start.reduce((a, b) => a + b, 0), sumNs: 0, jobs, buckets: start }, 0)
    const counts = () => {
      store.settle(m)
      return [0, 1, 2, 3].map((i) => m.bucketCount(i))
    }
    return { store, m, counts }
  }

  it.each([2 ** 32 - 1, 2 ** 32, 2 ** 33 + 5, 2 ** 52])('restores a bucket count of %d exactly', (count) => {
    const { m, counts } = metricAt([count, 0, 7, count])
    expect(counts()).toEqual([count, 0, 7, count])
    expect(m.total).toBe(2 * count + 7)
  })

  it.each([2 ** 32, 2 ** 33, 2 ** 40])('counts across the wrap below %d, one sample and one batch at a time', (boundary) => {
    const { store, m, counts } = metricAt([boundary - 3, boundary - 1, 0, 0])
    store.recordLatency(m, 5) // bucket 0: boundary - 2
    store.recordLatency(m, 50) // bucket 1: boundary (wraps)
    expect(counts()).toEqual([boundary - 2, boundary, 0, 0])
    store.recordLatencies(m, [1, 2, 3, 4, 60]) // bucket 0 wraps inside a batch
    expect(counts()).toEqual([boundary + 2, boundary + 1, 0, 0])
    for (let i = 0; i < 3; i++) store.recordLatency(m, 9)
    expect(counts()).toEqual([boundary + 5, boundary + 1, 0, 0])
    expect(m.total).toBe(2 * boundary + 6)
    expect(store.snapshot(m, { windowMs: WINDOW_MS }).total).toBe(2 * boundary + 6)
  })

  it('a new metric on a reused block starts from zero, carries included', () => {
    const { store, m } = metricAt([2 ** 32 + 1, 0, 0, 0])
    store.delete('big')
    const fresh = acquire(store, 'again')
    expect(fresh.counterBlock().base).toBe(m.counterBlock().base)
    store.recordLatency(fresh, 5)
    store.settle(fresh)
    expect([0, 1, 2, 3].map((i) => fresh.bucketCount(i))).toEqual([1, 0, 0, 0])
  })
})

describe('MetricStore samples per status past 32 bits', () => {
  it('stay exact across 2^32: single samples, one status for a batch, a status per value, and after the table grows', () => {
    const { store } = makeStore()
    const near = { '200': 2 ** 32 - 1, '404': 2 ** 32 - 3, '503': 2 ** 32 + 5 }
    const total = Object.values(near).reduce((a, b) => a + b, 0)
    const jobs = { created: 0, started: 0, completed: 0, failed: 0, retried: 0 }
    store.restore('m', { total, sumNs: total, jobs, statuses: near }, 0, [])
    const counts = () => Object.fromEntries(acquire(store, 'm').statusCounts())
    expect(counts()).toEqual({ 200: 2 ** 32 - 1, 404: 2 ** 32 - 3, 503: 2 ** 32 + 5 })
    store.ingestSamples('m', 5, 200)
    expect(counts()[200]).toBe(2 ** 32)
    store.ingestSamples('m', [1, 2, 3], [200, 404, 404])
    expect(counts()).toEqual({ 200: 2 ** 32 + 1, 404: 2 ** 32 - 1, 503: 2 ** 32 + 5 })
    store.ingestSamples('m', [1, 2], 404)
    store.ingestSamples('m', 7, 503)
    expect(counts()).toEqual({ 200: 2 ** 32 + 1, 404: 2 ** 32 + 1, 503: 2 ** 32 + 6 })
    // Three new statuses grow the table past its first four entries; the totals move with it.
    store.ingestSamples('m', [1, 2, 3, 4], [0, 301, 999, 200])
    store.ingestSamples(
      'm',
      Array.from({ length: 2 ** 12 }, () => 1),
      404,
    )
    expect(counts()).toEqual({ 0: 1, 200: 2 ** 32 + 2, 301: 1, 404: 2 ** 32 + 1 + 2 ** 12, 503: 2 ** 32 + 6, 999: 1 })
  })
})

describe('MetricStore service samples_total', () => {
  it('counts every accepted sample across metrics, including deleted ones, exactly past 2^32', () => {
    const { store } = makeStore()
    const a = acquire(store, 'a')
    const b = acquire(store, 'b')
    store.recordLatency(a, 1)
    store.recordLatencies(a, [1, 2, 3])
    store.recordLatencies(b, [4, 5])
    store.recordLatencies(b, [])
    store.recordJob(b, 'created', 10) // jobs are not samples
    expect(store.samplesTotal).toBe(6)
    store.delete('a')
    store.clear()
    expect(store.samplesTotal).toBe(6)

    const { store: big } = makeStore()
    big.service.block.set(ServiceSlot.samplesTotal, 2 ** 32 - 2)
    big.recordLatencies(acquire(big, 'x'), [7, 8, 9])
    expect(big.samplesTotal).toBe(2 ** 32 + 1)
    big.recordLatency(acquire(big, 'x'), 1)
    expect(big.samplesTotal).toBe(2 ** 32 + 2)
  })
})

describe('MetricStore snapshots of large windows (the radix pre-pass path)', () => {
  it('match the reference for wide, narrow and heavy-bucket data, snapshot after snapshot (property)', () => {
    const shape = fc.constantFrom('wide', 'narrow', 'heavy', 'low')
    const metricData = fc.tuple(shape, fc.integer({ min: 1_024, max: 2_500 }), fc.integer({ min: 1, max: 1e6 }))
    const quantileText = fc.constantFrom('0.001', '0.01', '0.1', '0.25', '0.5', '0.9', '0.999', '1')
    fc.assert(
      fc.property(fc.array(metricData, { minLength: 2, maxLength: 4 }), fc.uniqueArray(quantileText, { maxLength: 4 }), (metrics, extraTexts) => {
        const { store } = makeStore({ maxSamples: 5_000 })
        const expected = new Map<string, number[]>()
        metrics.forEach(([kind, n, seed], m) => {
          const values = Array.from({ length: n }, (_, i) => {
            const x = ((i + 1) * 2_654_435_761 * seed) % 2 ** 32
            if (kind === 'wide') return 1 + (x % 1e12)
            if (kind === 'narrow') return 1_000_000 + (x % 50)
            if (kind === 'low') return 1 + (x % 1e6)
            // 10% spread below one value that holds the other 90%: low ranks land in
            // light buckets, the median in the heavy one.
            return i % 10 === 0 ? 1 + (x % 1e6) : 5_000_000
          })
          store.recordLatencies(store.acquire(`m${m}`)!, values)
          expected.set(`m${m}`, values)
        })
        const quantiles = extraTexts.map((t) => quantile(t))
        // Several snapshots in a row, so state one call leaves behind would show in the next.
        for (let round = 0; round < 2; round++) {
          for (const [id, values] of expected) {
            const snap = store.snapshot(store.get(id)!, { windowMs: WINDOW_MS, quantiles })
            expect(snap.p50_ns).toBe(nearestRank(values, '0.5'))
            expect(snap.p95_ns).toBe(nearestRank(values, '0.95'))
            expect(snap.p99_ns).toBe(nearestRank(values, '0.99'))
            for (const t of extraTexts) expect(snap.quantiles?.[t]).toBe(nearestRank(values, t))
          }
        }
      }),
      { numRuns: 40 },
    )
  })

  // Windows of over 1,024 values take the radix path, and each snapshot starts from
  // where the previous one of the same metric found its ranks: here the data drifts,
  // jumps and ages out between snapshots, and extra quantiles change the rank count.
  type Op =
    | { kind: 'batch'; count: number; low: number; width: number; seed: number }
    | { kind: 'advance'; ms: number }
    | { kind: 'snapshot'; narrower: number | null; extra: string[] }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('batch' as const),
        count: fc.integer({ min: 1, max: 1_500 }),
        low: fc.oneof(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 2 ** 52 })),
        width: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 2 ** 40 })),
        seed: fc.integer(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(30) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('snapshot' as const),
        narrower: fc.option(fc.integer({ min: 1, max: 100 })),
        extra: fc.array(fc.constantFrom('0.001', '0.25', '0.75', '0.999', '1'), { maxLength: 2 }),
      }),
    },
  )

  it('match the reference in every statistic while the data drifts, jumps and ages out between snapshots (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_100, max: 4_000 }), fc.array(opArb, { maxLength: 14 }), (maxSamples, ops) => {
        const windowMs = 100
        const { store, clock } = makeStore({ maxSamples, windowMs })
        const m = acquire(store, 'big')
        const ring: TimedSample[] = []
        for (const op of ops) {
          if (op.kind === 'advance') clock.advance(op.ms)
          else if (op.kind === 'batch') {
            const values = Array.from({ length: op.count }, (_, i) => op.low + (Math.abs(op.seed ^ (i * 2_654_435_761)) % (op.width + 1)))
            store.recordLatencies(m, values)
            for (const value of values) ring.push({ value, time: clock.now() })
            ring.splice(0, Math.max(0, ring.length - maxSamples))
          } else {
            const w = op.narrower ?? windowMs
            const snap = store.snapshot(m, { windowMs: w, quantiles: op.extra.length ? parse(op.extra) : undefined })
            expectMatches(snap, expectedStats(ring, clock.now(), w, op.extra), op.extra)
          }
        }
      }),
      { numRuns: 60 },
    )
  })
})
