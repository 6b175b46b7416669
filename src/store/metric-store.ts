import { CounterSlab } from './counter-block.js'
import { BucketIndex, DEFAULT_BUCKET_BOUNDS_NS } from './histogram-buckets.js'
import { IngestRefusal, checkJobEvents, checkMetricId, checkSamples, statusesRefusal } from './ingest.js'
import { type JobCounts, type JobEvent, Metric, MetricShared, type SavedCounters, blockWidth } from './metric.js'
import { type RangeStats, RangeSummarizer } from './range-summary.js'
import { type ReadOptions, readOptionsKey } from './read-options.js'
import { RingPool } from './ring-pool.js'
import { MAX_STATUS, NO_STATUS } from './sample-layout.js'
import { ServiceCounters } from './service-counters.js'
import { forEachInSlices } from './time-slices.js'

/** The statistics every windowed answer reports (a snapshot, a point of a series), JSON-shaped. */
export interface WindowedStats {
  count: number
  min_ns: number | null
  max_ns: number | null
  mean_ns: number | null
  p50_ns: number | null
  p95_ns: number | null
  p99_ns: number | null
  quantiles?: Record<string, number | null>
  le?: Record<string, LeShare>
  errors: number
}

export interface MetricSnapshot extends WindowedStats {
  id: string
  window_ms: number
  total: number
  statuses: Record<string, number>
  error_rate: number | null
  jobs: JobCounts
}

/** Samples at or under an SLO threshold, and their share of the counted samples (null when none). */
export interface LeShare {
  count: number
  fraction: number | null
}

export interface SeriesPoint extends WindowedStats {
  t_ms: number
}

export interface Series {
  id: string
  window_ms: number
  step_ms: number
  points: SeriesPoint[]
}

/** A series has at most this many points. */
export const MAX_SERIES_POINTS = 10_000

/**
 * Windows of at least this many samples are kept for the next read (windowStats):
 * below it, computing them again costs about as much as comparing (bench S6), and
 * sparse ids keep no more memory than they hold samples.
 */
const MIN_KEPT_WINDOW = 1_024

export interface MetricStoreOptions {
  maxMetrics: number
  maxSamples: number
  windowMs: number
  bucketBoundsNs?: readonly number[]
  /**
   * The store's clock in ms: monotonic, plus an offset fixed at start so that it
   * reads as Unix time (series steps are aligned to Unix time). Injectable for tests.
   */
  now?: () => number
}

/**
 * Every metric by id, bounded by maxMetrics. Knows nothing of HTTP or any other
 * protocol: doors record through ingestSamples/ingestJobEvents, which check the
 * input (ingest.ts), and read through snapshot, windowStats and series.
 */
export class MetricStore {
  readonly maxMetrics: number
  readonly maxSamples: number
  readonly windowMs: number
  readonly bucketBoundsNs: Float64Array
  readonly service = new ServiceCounters()
  readonly now: () => number
  /** The one clock reading of the arrivals being recorded together (arrivingTogether); NaN otherwise. */
  private arrivalTime = Number.NaN
  private readonly metrics = new Map<string, Metric>()
  private readonly slab: CounterSlab
  private readonly shared: MetricShared
  private readonly summarizer: RangeSummarizer
  /** Single samples recorded but not yet added to the service's shared samples_total cell. */
  private unpublishedSamples = 0

  constructor(options: MetricStoreOptions) {
    this.maxMetrics = options.maxMetrics
    this.maxSamples = options.maxSamples
    this.windowMs = options.windowMs
    const buckets = new BucketIndex(options.bucketBoundsNs ?? DEFAULT_BUCKET_BOUNDS_NS)
    this.bucketBoundsNs = buckets.bounds
    // Monotonic, read as Unix ms: a wall-clock jump never reorders or drops samples.
    const origin = performance.timeOrigin
    this.now = options.now ?? (() => origin + performance.now())
    this.slab = new CounterSlab(blockWidth(this.bucketBoundsNs.length + 1))
    // Ring storage: small rings share chunks instead of each holding a typed array.
    this.shared = new MetricShared(buckets, new RingPool(), this.maxSamples)
    this.summarizer = new RangeSummarizer(this.maxSamples)
  }

  get size(): number {
    return this.metrics.size
  }

  get(id: string): Metric | undefined {
    return this.metrics.get(id)
  }

  /**
   * The domain ingest API for samples: records `latency` (one value or a batch)
   * for `id`, creating the metric on first use, after checking the id, every
   * value, the status and MAX_METRICS (ingest.ts). `status` is NO_STATUS (none),
   * one status for every value, or one per value. Returns how many samples were
   * recorded, or why none was.
   */
  ingestSamples(id: string, latency: number | ArrayLike<number>, status: number | ArrayLike<number> = NO_STATUS): number | IngestRefusal {
    const refusal = checkSamples(latency, status)
    if (refusal !== undefined) return refusal
    if (typeof status !== 'number') return this.ingestWithStatuses(id, latency as ArrayLike<number>, status)
    const metric = this.acquireChecked(id)
    if (metric instanceof IngestRefusal) return metric
    if (typeof latency === 'number') {
      this.recordLatency(metric, latency, status)
      return 1
    }
    this.recordLatencies(metric, latency, status)
    return latency.length
  }

  /**
   * ingestSamples for a batch with a status per value: its statuses are counted
   * (and their range checked), with its histogram buckets, before anything is
   * recorded or any metric created.
   */
  private ingestWithStatuses(id: string, latencies: ArrayLike<number>, statuses: ArrayLike<number>): number | IngestRefusal {
    const shared = this.shared
    try {
      if (shared.statusTally.countWithBuckets(statuses, latencies, shared.buckets, shared.bucketTally) > MAX_STATUS) return statusesRefusal(statuses)
      const metric = this.acquireChecked(id)
      if (metric instanceof IngestRefusal) return metric
      this.recordLatencies(metric, latencies, statuses)
      return latencies.length
    } finally {
      shared.clearBatchTally()
    }
  }

  /** The domain ingest API for job events: counts `count` events for `id`, after the same checks. */
  ingestJobEvents(id: string, event: string, count: number): number | IngestRefusal {
    const refusal = checkJobEvents(event, count)
    if (refusal !== undefined) return refusal
    const metric = this.acquireChecked(id)
    if (metric instanceof IngestRefusal) return metric
    this.recordJob(metric, event as JobEvent, count)
    return count
  }

  /**
   * Runs `record` with one clock reading for every sample and event it records:
   * what arrived together (a StatsD datagram's lines, an OTLP request's spans) is
   * stamped together, and a door that makes many ingest calls per message reads
   * the clock once (~80 ns a reading here) instead of once per call. A call inside
   * another keeps the outer reading.
   */
  arrivingTogether<T>(record: () => T): T {
    if (!Number.isNaN(this.arrivalTime)) return record()
    this.arrivalTime = this.now()
    try {
      return record()
    } finally {
      this.arrivalTime = Number.NaN
    }
  }

  /** The time to stamp a write with: the held reading of arrivingTogether, or the clock's. */
  private arrivedAt(): number {
    const held = this.arrivalTime
    return Number.isNaN(held) ? this.now() : held
  }

  /** The metric for a write, created on first use once its id is checked; a refusal when the id is bad or the store full. */
  private acquireChecked(id: string): Metric | IngestRefusal {
    // Every id in the map passed checkMetricId when it was created: only new ids are checked.
    const existing = this.metrics.get(id)
    if (existing !== undefined) return existing
    const refusal = checkMetricId(id)
    if (refusal !== undefined) return refusal
    return (
      this.acquire(id) ??
      new IngestRefusal('metric-limit', `cannot create metric "${id}": MAX_METRICS (${this.maxMetrics}) metrics already exist; existing ids keep working`)
    )
  }

  /** The metric for id, created if needed; undefined when it is new and the store is full. The id must be valid. */
  acquire(id: string): Metric | undefined {
    const existing = this.metrics.get(id)
    if (existing !== undefined) return existing
    if (this.metrics.size >= this.maxMetrics) return undefined
    const metric = new Metric(id, this.shared, this.slab.allocate(), this.arrivedAt())
    this.metrics.set(id, metric)
    return metric
  }

  /** Metrics sorted by id (UTF-16 code unit order, as Array.prototype.sort). */
  sorted(): Metric[] {
    return [...this.metrics.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** Calls visit for every metric in id order, in time slices (time-slices.ts); a metric deleted meanwhile is left out. */
  async forEachInSlices(visit: (metric: Metric) => void): Promise<void> {
    await forEachInSlices(this.sorted(), (metric) => {
      if (this.metrics.get(metric.id) === metric) visit(metric)
    })
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
    metric.retire()
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

  /** Records one checked latency (integer ns, 1..2^53-1): the step after ingestSamples' checks. */
  recordLatency(metric: Metric, value: number, status: number = NO_STATUS): void {
    metric.record(value, this.arrivedAt(), status)
    this.unpublishedSamples++
  }

  /** Records a checked batch; every value gets the same arrival time. */
  recordLatencies(metric: Metric, values: ArrayLike<number>, status: number | ArrayLike<number> = NO_STATUS): void {
    metric.recordBatch(values, this.arrivedAt(), status)
    this.service.samplesAccepted(values.length)
  }

  recordJob(metric: Metric, event: JobEvent, count: number): void {
    metric.recordJob(event, count, this.arrivedAt())
  }

  /** Adds a metric's pending samples to its histogram (before reading the histogram). */
  settle(metric: Metric): void {
    metric.settle()
  }

  /** Samples accepted since the process started. */
  get samplesTotal(): number {
    if (this.unpublishedSamples > 0) {
      this.service.samplesAccepted(this.unpublishedSamples)
      this.unpublishedSamples = 0
    }
    return this.service.samplesTotal
  }

  /**
   * Puts back a metric saved by an earlier process (state-file.ts): its counters,
   * then its samples oldest first, each with its time on this store's clock.
   * Undefined when the store is full.
   */
  restore(
    id: string,
    counters: SavedCounters,
    lastWriteAt: number,
    samples: Iterable<readonly [value: number, time: number, status: number]>,
  ): Metric | undefined {
    const metric = this.acquire(id)
    if (metric === undefined) return undefined
    metric.restoreCounters(counters, lastWriteAt)
    for (const [value, time, status] of samples) metric.restoreSample(value, time, status)
    return metric
  }

  /**
   * Statistics of the metric's samples in the read's window (the histogram settled
   * first). The metric keeps the last large window's statistics: a metric nobody
   * wrote to since, whose window still starts at the same sample, is answered from
   * them, which is most ids of a dashboard or a scrape polling every few seconds.
   * The result is shared: callers only read it.
   */
  windowStats(metric: Metric, options: ReadOptions, statusCounts = true): RangeStats {
    metric.settle()
    const first = metric.firstAfter(this.now() - options.windowMs)
    const end = metric.size
    if (end - first < MIN_KEPT_WINDOW) return this.summarizer.summarize(metric, first, end, options, statusCounts, true)
    const key = `${statusCounts ? 'statuses' : ''}|${readOptionsKey(options)}`
    const kept = metric.lastWindow
    if (
      kept !== undefined &&
      kept.first === first &&
      kept.end === end &&
      kept.key === key &&
      kept.changes === metric.changeCount &&
      kept.lastWriteAt === metric.lastWriteAt
    ) {
      return kept.stats
    }
    const stats = this.summarizer.summarize(metric, first, end, options, statusCounts, true)
    metric.lastWindow = { first, end, key, changes: metric.changeCount, lastWriteAt: metric.lastWriteAt, stats }
    return stats
  }

  snapshot(metric: Metric, options: ReadOptions): MetricSnapshot {
    const stats = this.windowStats(metric, options)
    return {
      id: metric.id,
      window_ms: options.windowMs,
      total: metric.total,
      ...windowedStats(stats, options),
      // A copy: the stats may be a kept window's, shared with the next read.
      statuses: { ...stats.statuses },
      error_rate: stats.withStatus === 0 ? null : stats.errors / stats.withStatus,
      jobs: metric.jobCounts(),
    }
  }

  /**
   * The metric's samples per step of `stepMs` over the read's window: every step
   * [t, t + stepMs) with t a multiple of stepMs that overlaps [now - window, now],
   * oldest first, empty ones included. The first holds only samples inside the
   * window; the last is the step in progress. Steps are computed in time slices.
   * TooManyPoints, and nothing computed, when more than MAX_SERIES_POINTS steps overlap it.
   * MetricRemoved when the metric was deleted (or evicted idle) between two slices:
   * its ring is empty from then on, and a re-created id is another metric, so the
   * points would hold part of the window; the id did not exist at that moment.
   */
  async series(metric: Metric, options: ReadOptions, stepMs: number): Promise<Series | TooManyPoints | MetricRemoved> {
    const now = this.now()
    const since = now - options.windowMs
    const firstStep = Math.floor(since / stepMs)
    const lastStep = Math.floor(now / stepMs)
    // Counted at this reading of the clock: a window that is not a whole number of
    // steps overlaps one step more or fewer depending on where now falls.
    if (lastStep - firstStep + 1 > MAX_SERIES_POINTS) return new TooManyPoints(lastStep - firstStep + 1)
    const points: SeriesPoint[] = []
    let removed = false
    await forEachInSlices(stepIndices(firstStep, lastStep), (k) => {
      // A retired metric never comes back: once removed, the rest is not computed.
      if (removed || this.metrics.get(metric.id) !== metric) {
        removed = true
        return
      }
      const start = k * stepMs
      // Located by time when the step is computed: samples that arrive or wrap away
      // between two slices cannot shift another step's run.
      const first = k === firstStep ? metric.firstAfter(since) : metric.firstAtOrAfter(start)
      const end = k === lastStep ? metric.firstAfter(now) : metric.firstAtOrAfter(start + stepMs)
      const stats = this.summarizer.summarize(metric, first, end, options, false, false)
      const point: SeriesPoint = { t_ms: start, ...windowedStats(stats, options) }
      points.push(point)
    })
    if (removed) return new MetricRemoved()
    return { id: metric.id, window_ms: options.windowMs, step_ms: stepMs, points }
  }
}

/** A series given up: its metric was removed while the series was being computed. */
export class MetricRemoved {}

/** A series refused: at the time it was asked for, its steps would have been `points` > MAX_SERIES_POINTS. */
export class TooManyPoints {
  constructor(readonly points: number) {}
}

function* stepIndices(first: number, last: number): Generator<number> {
  for (let k = first; k <= last; k++) yield k
}

/** A run's statistics as answers report them: null where there were no samples, `quantiles` and `le` when asked for. */
function windowedStats(stats: RangeStats, options: ReadOptions): WindowedStats {
  const empty = stats.count === 0
  const out: WindowedStats = {
    count: stats.count,
    min_ns: empty ? null : stats.min,
    max_ns: empty ? null : stats.max,
    mean_ns: empty ? null : stats.sum / stats.count,
    p50_ns: empty ? null : stats.quantiles[0],
    p95_ns: empty ? null : stats.quantiles[1],
    p99_ns: empty ? null : stats.quantiles[2],
    errors: stats.errors,
  }
  if (options.quantiles !== undefined) out.quantiles = extraQuantiles(stats, options)
  if (options.le !== undefined) out.le = leShares(stats, options)
  return out
}

function extraQuantiles(stats: RangeStats, options: ReadOptions): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  const extra = options.quantiles ?? []
  for (let i = 0; i < extra.length; i++) out[extra[i].key] = stats.count === 0 ? null : stats.quantiles[3 + i]
  return out
}

function leShares(stats: RangeStats, options: ReadOptions): Record<string, LeShare> {
  const out: Record<string, LeShare> = {}
  const thresholds = options.le ?? []
  for (let i = 0; i < thresholds.length; i++) {
    out[thresholds[i].key] = { count: stats.le[i], fraction: stats.count === 0 ? null : stats.le[i] / stats.count }
  }
  return out
}
