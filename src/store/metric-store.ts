import { CounterBlock, CounterSlab } from './counter-block.js'
import { BucketIndex, DEFAULT_BUCKET_BOUNDS_NS } from './histogram-buckets.js'
import { type Quantile, nearestRankIndex, quantile } from './quantile.js'
import { RingPool } from './ring-pool.js'
import { SampleRing } from './sample-ring.js'
import { valuesAtRanks } from './bucket-select.js'
import { ServiceCounters } from './service-counters.js'

export const JOB_EVENTS = ['created', 'started', 'completed', 'failed', 'retried'] as const
export type JobEvent = (typeof JOB_EVENTS)[number]

/**
 * Cell layout of a metric's counter block:
 *   [0..4] job events in JOB_EVENTS order
 *   [5..5+B] histogram buckets for the B bounds, then +Inf (not cumulative)
 * Every sample lands in exactly one bucket, so the metric's total is their sum:
 * no separate cell (and no third atomic add per sample) is needed.
 */
const JOB_SLOT: Readonly<Record<JobEvent, number>> = {
  created: 0,
  started: 1,
  completed: 2,
  failed: 3,
  retried: 4,
}
const BUCKET_SLOT = 5

export class Metric {
  /** Sum of every value ever recorded, in ns (the histogram's _sum). */
  sumNs = 0
  /** Clock time of the last write, for idle eviction. */
  lastWriteAt: number
  /**
   * Samples restored from a state file saved with other bucket bounds: counted in
   * the total, but in no bucket (they cannot be re-bucketed).
   */
  private unbucketed = 0

  constructor(
    readonly id: string,
    readonly ring: SampleRing,
    readonly counters: CounterBlock,
    createdAt: number,
  ) {
    this.lastWriteAt = createdAt
  }

  /** Samples recorded since creation: the sum of the histogram buckets. */
  get total(): number {
    let total = this.unbucketed
    for (let i = BUCKET_SLOT; i < this.counters.width; i++) total += this.counters.get(i)
    return total
  }

  jobCount(event: JobEvent): number {
    return this.counters.get(JOB_SLOT[event])
  }

  /** Non-cumulative count of bucket i (i == bounds.length is +Inf). */
  bucketCount(i: number): number {
    return this.counters.get(BUCKET_SLOT + i)
  }

  /** Number of histogram buckets, +Inf included. */
  get histogramBucketCount(): number {
    return this.counters.width - BUCKET_SLOT
  }

  /** Puts back counters saved by an earlier process (see state-file.ts). */
  restoreCounters(saved: SavedCounters): void {
    const c = this.counters
    for (const event of JOB_EVENTS) c.set(JOB_SLOT[event], saved.jobs[event])
    let bucketed = 0
    if (saved.buckets !== undefined) {
      const n = Math.min(saved.buckets.length, this.histogramBucketCount)
      for (let i = 0; i < n; i++) {
        c.set(BUCKET_SLOT + i, saved.buckets[i])
        bucketed += saved.buckets[i]
      }
    }
    this.unbucketed = Math.max(0, saved.total - bucketed)
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
    this.now = options.now ?? (() => performance.now())
    this.slab = new CounterSlab(BUCKET_SLOT + this.bucketBoundsNs.length + 1)
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
    const metric = new Metric(id, new SampleRing(this.maxSamples, this.ringPool), this.slab.allocate(), this.now())
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
    metric.ring.release()
    this.slab.release(metric.counters)
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
    for (const metric of this.metrics.values()) bytes += metric.ring.byteLength
    return bytes
  }

  /** Records one validated latency (integer ns, 1..2^53-1). */
  recordLatency(metric: Metric, value: number): void {
    const time = this.now()
    metric.ring.push(value, time)
    metric.sumNs += value
    metric.lastWriteAt = time
    const c = metric.counters
    c.increment(BUCKET_SLOT + this.buckets.of(value))
    this.service.sampleAccepted()
  }

  /** Records a validated batch; every value gets the same arrival time. */
  recordLatencies(metric: Metric, values: readonly number[]): void {
    const n = values.length
    const time = this.now()
    metric.ring.pushMany(values, time)
    const buckets = this.buckets
    const tally = this.bucketTally
    let sum = 0
    for (let i = 0; i < n; i++) {
      const v = values[i]
      sum += v
      tally[buckets.of(v)]++
    }
    metric.sumNs += sum
    metric.lastWriteAt = time
    const c = metric.counters
    for (let b = 0; b < tally.length; b++) {
      if (tally[b] !== 0) {
        c.add(BUCKET_SLOT + b, tally[b])
        tally[b] = 0
      }
    }
    this.service.samplesAccepted(n)
  }

  recordJob(metric: Metric, event: JobEvent, count: number): void {
    metric.counters.add(JOB_SLOT[event], count)
    metric.lastWriteAt = this.now()
  }

  snapshot(metric: Metric, options: SnapshotOptions): MetricSnapshot {
    const { windowMs } = options
    const ring = metric.ring
    if (this.scratch.length < ring.size) this.scratch = new Float64Array(ring.capacity)
    const values = this.scratch
    const w = ring.copyWindow(this.now() - windowMs, values)
    const n = w.count
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
      valuesAtRanks(values, n, ranks, w.min, w.max, at)
      const valueAt = (i: number) => at[ranks.indexOf(index[i])]
      snapshot.min_ns = w.min
      snapshot.max_ns = w.max
      snapshot.mean_ns = w.sum / n
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
