import { CounterBlock, CounterSlab, addToCell, readCell, writeCell } from './counter-block.js'
import { BucketIndex, DEFAULT_BUCKET_BOUNDS_NS } from './histogram-buckets.js'
import { type Quantile, nearestRankIndex, quantile } from './quantile.js'
import { RingPool } from './ring-pool.js'
import { SampleRing } from './sample-ring.js'
import { taskClock } from './task-clock.js'
import { summarizeValues } from './bucket-select.js'
import { ServiceCounters } from './service-counters.js'

export const JOB_EVENTS = ['created', 'started', 'completed', 'failed', 'retried'] as const
export type JobEvent = (typeof JOB_EVENTS)[number]

/**
 * Cell layout of a metric's counter block:
 *   [0] sum of every value ever recorded, in ns (a double: the histogram's _sum)
 *   [1] clock time of the last write (a double), for idle eviction
 *   [2..6] job events in JOB_EVENTS order
 *   [7] samples restored from a state file saved with other bucket bounds: in the
 *       total, but in no bucket (they cannot be re-bucketed)
 *   [8..] histogram buckets for the B bounds, then +Inf (not cumulative): two
 *       32-bit counts per cell, read and added through the block's Uint32Array
 * Every other sample lands in exactly one bucket, so the metric's total is their
 * sum (plus the samples still pending, below): no cell of its own is needed.
 *
 * Bucket counts are 32-bit because a sparse id's histogram is most of its counter
 * block (26 buckets: 208 B as 64-bit cells, 104 B as 32-bit). A bucket still
 * counts exactly far past 2^32: an add that wraps its 32 bits carries 1 into the
 * bucket's high part, kept off to the side (in `carries`) by the few metrics that
 * ever need one. The wrap and its carry happen in one synchronous step on the
 * event loop, the only thread that writes or reads them.
 *
 * A single recorded sample is not bucketed at once: it only joins the ring's
 * `pending` newest pairs, and MetricStore.settle() buckets all of them in one
 * loop (one atomic add per touched bucket) before anything reads the histogram,
 * before a batch, and before a push would overwrite a pending pair. The cost of
 * a bucket lookup and an atomic add leaves the per-sample path; each sample is
 * still counted exactly once.
 */
const SUM_SLOT = 0
const LAST_WRITE_SLOT = 1
const JOB_SLOT: Readonly<Record<JobEvent, number>> = {
  created: 2,
  started: 3,
  completed: 4,
  failed: 5,
  retried: 6,
}
const UNBUCKETED_SLOT = 7
const BUCKET_SLOT = 8
const TWO_32 = 2 ** 32

/** Cells of a metric's counter block with `buckets` histogram buckets. */
function blockWidth(buckets: number): number {
  return BUCKET_SLOT + Math.ceil(buckets / 2)
}

/** Per metric, the high parts (multiples of 2^32) of bucket counts that have wrapped. */
const carries = new WeakMap<Metric, Float64Array>()

/**
 * One metric id: a Metric *is* the ring of its recent samples, plus the place of
 * its counter block in the store's slab and a count of pending samples. Inheriting
 * the ring rather than holding one, keeping the counter block's views and base
 * rather than a CounterBlock, and keeping the two doubles in counter cells rather
 * than in fields (each would be a boxed heap number) leave a sparse id one heap
 * object instead of five (heap per id 314 -> ~190 B, bench S7).
 */
export class Metric extends SampleRing {
  /** The newest `pending` pairs of the ring are not in the histogram yet (see above). */
  pending = 0
  /** Where the last large snapshot found its ranks: the next one starts from there (bucket-select.ts). */
  rankBuckets: Int32Array | undefined = undefined

  /** The counter block: cells [cellBase, ...) of `cells`, and of `reals` and `words` over the same memory. */
  readonly cells: BigInt64Array
  readonly reals: Float64Array
  readonly words: Uint32Array
  readonly cellBase: number
  /** Number of histogram buckets, +Inf included. */
  readonly histogramBucketCount: number

  constructor(
    readonly id: string,
    maxSamples: number,
    pool: RingPool,
    counters: CounterBlock,
    histogramBucketCount: number,
    createdAt: number,
  ) {
    super(maxSamples, pool)
    this.cells = counters.cells
    this.reals = counters.reals
    this.words = counters.words
    this.cellBase = counters.base
    this.histogramBucketCount = histogramBucketCount
    this.lastWriteAt = createdAt
  }

  /** The counter block, as an object (to give it back to the slab; tests). */
  counterBlock(): CounterBlock {
    return new CounterBlock(this.cells, this.cellBase, blockWidth(this.histogramBucketCount), this.reals, this.words)
  }

  /** Sum of every value ever recorded, in ns (the histogram's _sum). */
  get sumNs(): number {
    return this.reals[this.cellBase + SUM_SLOT]
  }

  set sumNs(value: number) {
    this.reals[this.cellBase + SUM_SLOT] = value
  }

  /** Clock time of the last write, for idle eviction. */
  get lastWriteAt(): number {
    return this.reals[this.cellBase + LAST_WRITE_SLOT]
  }

  set lastWriteAt(time: number) {
    this.reals[this.cellBase + LAST_WRITE_SLOT] = time
  }

  /** Adds to counter cell `slot` of the block. */
  addCount(slot: number, amount: number): void {
    addToCell(this.cells, this.cellBase + slot, amount)
  }

  /** Adds `amount` (below 2^32) to histogram bucket i, carrying into its high part when the low 32 bits wrap. */
  addToBucket(i: number, amount: number): void {
    const before = Atomics.add(this.words, this.firstBucketWord + i, amount)
    if (before + amount >= TWO_32) this.carriesFor()[i]++
  }

  private count(slot: number): number {
    return readCell(this.cells, this.cellBase + slot)
  }

  /** Index in `words` of bucket 0. */
  private get firstBucketWord(): number {
    return (this.cellBase + BUCKET_SLOT) * 2
  }

  private carriesFor(): Float64Array {
    let high = carries.get(this)
    if (high === undefined) {
      high = new Float64Array(this.histogramBucketCount)
      carries.set(this, high)
    }
    return high
  }

  /** Samples recorded since creation: the histogram buckets plus the pending samples. */
  get total(): number {
    let total = this.pending + this.count(UNBUCKETED_SLOT)
    const first = this.firstBucketWord
    for (let i = 0; i < this.histogramBucketCount; i++) total += Atomics.load(this.words, first + i)
    const high = carries.get(this)
    if (high !== undefined) for (let i = 0; i < high.length; i++) total += high[i] * TWO_32
    return total
  }

  jobCount(event: JobEvent): number {
    return this.count(JOB_SLOT[event])
  }

  /**
   * Non-cumulative count of bucket i (i == bounds.length is +Inf), pending samples
   * left out: MetricStore.settle() first (snapshot() does).
   */
  bucketCount(i: number): number {
    const low = Atomics.load(this.words, this.firstBucketWord + i)
    const high = carries.get(this)
    return high === undefined ? low : low + high[i] * TWO_32
  }

  /** Puts back counters saved by an earlier process (see state-file.ts). */
  restoreCounters(saved: SavedCounters): void {
    const { cells, cellBase } = this
    for (const event of JOB_EVENTS) writeCell(cells, cellBase + JOB_SLOT[event], saved.jobs[event])
    let bucketed = 0
    if (saved.buckets !== undefined) {
      const n = Math.min(saved.buckets.length, this.histogramBucketCount)
      for (let i = 0; i < n; i++) {
        const count = saved.buckets[i]
        Atomics.store(this.words, this.firstBucketWord + i, count % TWO_32)
        if (count >= TWO_32) this.carriesFor()[i] = Math.floor(count / TWO_32)
        bucketed += count
      }
    }
    writeCell(cells, cellBase + UNBUCKETED_SLOT, Math.max(0, saved.total - bucketed))
    this.sumNs = saved.sumNs
  }
}

export interface SavedCounters {
  total: number
  sumNs: number
  jobs: Readonly<Record<JobEvent, number>>
  /** Non-cumulative bucket counts, +Inf last; left at zero when absent. */
  buckets?: readonly number[]
}

export interface JobCounts {
  created: number
  started: number
  completed: number
  failed: number
  retried: number
  in_progress: number
}

export interface MetricSnapshot {
  id: string
  window_ms: number
  count: number
  total: number
  min_ns: number | null
  max_ns: number | null
  mean_ns: number | null
  p50_ns: number | null
  p95_ns: number | null
  p99_ns: number | null
  quantiles?: Record<string, number | null>
  jobs: JobCounts
}

export interface SnapshotOptions {
  windowMs: number
  /** Extra quantiles, reported under `quantiles` keyed by their text. */
  quantiles?: readonly Quantile[]
}

export interface MetricStoreOptions {
  maxMetrics: number
  maxSamples: number
  windowMs: number
  bucketBoundsNs?: readonly number[]
  /** Monotonic clock in milliseconds; injectable for tests. */
  now?: () => number
}

const P50 = quantile('0.5')
const P95 = quantile('0.95')
const P99 = quantile('0.99')

/**
 * Every metric by id, bounded by maxMetrics. Knows nothing of HTTP: callers
 * validate input, the store records it and computes snapshots.
 */
export class MetricStore {
  readonly maxMetrics: number
  readonly maxSamples: number
  readonly windowMs: number
  readonly bucketBoundsNs: Float64Array
  private readonly buckets: BucketIndex
  readonly service = new ServiceCounters()
  readonly now: () => number
  private readonly metrics = new Map<string, Metric>()
  private readonly slab: CounterSlab
  /** Ring storage: small rings share chunks instead of each holding a typed array. */
  private readonly ringPool = new RingPool()
  /** Single samples recorded but not yet added to the service's shared samples_total cell. */
  private unpublishedSamples = 0
  /** Per-batch bucket tallies, flushed with one atomic add per touched bucket. */
  private readonly bucketTally: Uint32Array
  /** Reused copy of a window's values, reordered in place by selection. */
  private scratch = new Float64Array(0)

  constructor(options: MetricStoreOptions) {
    this.maxMetrics = options.maxMetrics
    this.maxSamples = options.maxSamples
    this.windowMs = options.windowMs
    this.buckets = new BucketIndex(options.bucketBoundsNs ?? DEFAULT_BUCKET_BOUNDS_NS)
    this.bucketBoundsNs = this.buckets.bounds
    this.now = options.now ?? taskClock()
    this.slab = new CounterSlab(blockWidth(this.bucketBoundsNs.length + 1))
    this.bucketTally = new Uint32Array(this.bucketBoundsNs.length + 1)
  }

  get size(): number {
    return this.metrics.size
  }

  get(id: string): Metric | undefined {
    return this.metrics.get(id)
  }

  /** The metric for id, created if needed; undefined when it is new and the store is full. */
  acquire(id: string): Metric | undefined {
    const existing = this.metrics.get(id)
    if (existing !== undefined) return existing
    if (this.metrics.size >= this.maxMetrics) return undefined
    const metric = new Metric(id, this.maxSamples, this.ringPool, this.slab.allocate(), this.bucketBoundsNs.length + 1, this.now())
    this.metrics.set(id, metric)
    return metric
  }

  /** Metrics sorted by id (UTF-16 code unit order, as Array.prototype.sort). */
  sorted(): Metric[] {
    return [...this.metrics.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  delete(id: string): boolean {
    const metric = this.metrics.get(id)
    if (metric === undefined) return false
    this.metrics.delete(id)
    this.release(metric)
    return true
  }

  clear(): void {
    for (const metric of this.metrics.values()) this.release(metric)
    this.metrics.clear()
  }

  /** Gives a removed metric's ring region and counter block back for reuse. */
  private release(metric: Metric): void {
    metric.pending = 0
    metric.release()
    this.slab.release(metric.counterBlock())
  }

  /** Removes every metric with no write in the last idleTtlMs; returns how many. */
  evictIdle(idleTtlMs: number): number {
    const cutoff = this.now() - idleTtlMs
    let evicted = 0
    for (const metric of this.metrics.values()) {
      if (metric.lastWriteAt <= cutoff) {
        this.delete(metric.id)
        evicted++
      }
    }
    if (evicted > 0) this.service.metricsEvicted(evicted)
    return evicted
  }

  /** Bytes held by every metric's sample ring. */
  ringBytes(): number {
    let bytes = 0
    for (const metric of this.metrics.values()) bytes += metric.byteLength
    return bytes
  }

  /** Records one validated latency (integer ns, 1..2^53-1). */
  recordLatency(metric: Metric, value: number): void {
    const time = this.now()
    if (metric.pending === this.maxSamples) this.settle(metric) // the push would overwrite a pending pair
    metric.push(value, time)
    metric.pending++
    metric.sumNs += value
    metric.lastWriteAt = time
    this.unpublishedSamples++
  }

  /** Records a validated batch; every value gets the same arrival time. */
  recordLatencies(metric: Metric, values: ArrayLike<number>): void {
    const n = values.length
    const time = this.now()
    // The batch's samples are bucketed now; older pending ones first, so that
    // `pending` stays a count of the newest pairs.
    this.settle(metric)
    metric.pushMany(values, time)
    metric.sumNs += this.countBuckets(metric, values, n)
    metric.lastWriteAt = time
    this.service.samplesAccepted(n)
  }

  /** Adds a metric's pending samples to its histogram. Idempotent; cheap when nothing is pending. */
  settle(metric: Metric): void {
    // A removed metric's ring is empty: nothing to count, and its counters may be another's now.
    const n = Math.min(metric.pending, metric.size)
    metric.pending = 0
    if (n === 0) return
    const values = this.scratchFor(n)
    metric.copyNewest(n, values)
    this.countBuckets(metric, values, n)
  }

  /** Samples accepted since the process started. */
  get samplesTotal(): number {
    if (this.unpublishedSamples > 0) {
      this.service.samplesAccepted(this.unpublishedSamples)
      this.unpublishedSamples = 0
    }
    return this.service.samplesTotal
  }

  /** Counts values[0..n-1] into the metric's histogram buckets; returns their sum. */
  private countBuckets(metric: Metric, values: ArrayLike<number>, n: number): number {
    const buckets = this.buckets
    const tally = this.bucketTally
    let sum = 0
    for (let i = 0; i < n; i++) {
      const v = values[i]
      sum += v
      tally[buckets.of(v)]++
    }
    for (let b = 0; b < tally.length; b++) {
      if (tally[b] !== 0) {
        metric.addToBucket(b, tally[b])
        tally[b] = 0
      }
    }
    return sum
  }

  private scratchFor(n: number): Float64Array {
    if (this.scratch.length < n) this.scratch = new Float64Array(Math.min(this.maxSamples, Math.max(n, 2 * this.scratch.length)))
    return this.scratch
  }

  recordJob(metric: Metric, event: JobEvent, count: number): void {
    metric.addCount(JOB_SLOT[event], count)
    metric.lastWriteAt = this.now()
  }

  snapshot(metric: Metric, options: SnapshotOptions): MetricSnapshot {
    const { windowMs } = options
    this.settle(metric)
    const values = this.scratchFor(metric.size)
    const n = metric.copyWindow(this.now() - windowMs, values)
    const snapshot: MetricSnapshot = {
      id: metric.id,
      window_ms: windowMs,
      count: n,
      total: metric.total,
      min_ns: null,
      max_ns: null,
      mean_ns: null,
      p50_ns: null,
      p95_ns: null,
      p99_ns: null,
      jobs: jobCounts(metric),
    }
    const extra = options.quantiles
    if (n > 0) {
      const wanted = extra === undefined ? [P50, P95, P99] : [P50, P95, P99, ...extra]
      const index = wanted.map((q) => nearestRankIndex(q, n))
      const ranks = [...new Set(index)].sort((a, b) => a - b)
      const at: number[] = []
      const { min, max, sum, buckets } = summarizeValues(values, n, ranks, at, metric.rankBuckets)
      metric.rankBuckets = buckets
      const valueAt = (i: number) => at[ranks.indexOf(index[i])]
      snapshot.min_ns = min
      snapshot.max_ns = max
      snapshot.mean_ns = sum / n
      snapshot.p50_ns = valueAt(0)
      snapshot.p95_ns = valueAt(1)
      snapshot.p99_ns = valueAt(2)
      if (extra !== undefined) {
        const out: Record<string, number | null> = {}
        for (let i = 0; i < extra.length; i++) out[extra[i].key] = valueAt(3 + i)
        snapshot.quantiles = out
      }
    } else if (extra !== undefined) {
      const out: Record<string, number | null> = {}
      for (const q of extra) out[q.key] = null
      snapshot.quantiles = out
    }
    return snapshot
  }
}

function jobCounts(metric: Metric): JobCounts {
  const started = metric.jobCount('started')
  const completed = metric.jobCount('completed')
  const failed = metric.jobCount('failed')
  return {
    created: metric.jobCount('created'),
    started,
    completed,
    failed,
    retried: metric.jobCount('retried'),
    in_progress: Math.max(0, started - completed - failed),
  }
}
