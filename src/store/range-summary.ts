import { RankSelector } from './bucket-select.js'
import type { Metric } from './metric.js'
import { type Quantile, nearestRankIndex, quantile } from './quantile.js'
import type { ReadOptions } from './read-options.js'
import { MAX_STATUS, NO_STATUS, isErrorStatus } from './sample-layout.js'

/** The quantiles every read reports (p50_ns, p95_ns, p99_ns), before any extra ones. */
export const STANDARD_QUANTILES: readonly Quantile[] = [quantile('0.5'), quantile('0.95'), quantile('0.99')]

/**
 * Statistics of the samples of one run of a ring (a window, or a step of a
 * series) that match the read's status filter. Every number is exact: ranks are
 * nearest-rank over the matching values, counts are counts.
 */
export interface RangeStats {
  /** Matching samples. */
  count: number
  /** Smallest, largest and sum of their values; NaN when count is 0. */
  min: number
  max: number
  sum: number
  /** Values at STANDARD_QUANTILES, then at the read's extra quantiles, in order; empty when count is 0. */
  quantiles: number[]
  /** Matching samples by status (keys ascending, as integer-like keys enumerate); only when asked for. */
  statuses: Record<string, number> | undefined
  /** Matching samples whose status is 0 or >= 500. */
  errors: number
  /** Matching samples that have a status. */
  withStatus: number
  /** Per threshold of the read's `le`, in order: matching samples with value <= it. */
  le: number[]
}

/**
 * Summarizes runs of samples: copies a run's values (and statuses) into reused
 * scratch, drops the samples the status filter does not match, then counts and
 * selects. Owned by one store, used by one event loop: each call runs to the end
 * before another starts, so the scratch is never shared by two reads at once.
 */
export class RangeSummarizer {
  private values = new Float64Array(0)
  private statuses = new Uint16Array(0)
  /** Samples per status of the current run; all zeros between calls. */
  private readonly tally = new Uint32Array(MAX_STATUS + 1)
  private readonly selector = new RankSelector()

  constructor(private readonly maxSamples: number) {}

  /**
   * Statistics of logical indices [first, end) of the metric's ring. With
   * `guess`, the radix selection starts from the buckets an earlier read of the
   * same metric found (see bucket-select.ts), and the metric keeps the new ones.
   */
  summarize(metric: Metric, first: number, end: number, options: ReadOptions, statusCounts: boolean, guess: boolean): RangeStats {
    let n = Math.max(0, end - first)
    const values = this.valuesFor(n)
    metric.copyValues(first, end, values)
    const statuses = metric.hasStatuses ? this.statusesFor(n) : undefined
    if (statuses !== undefined) metric.copyStatuses(first, end, statuses)
    const filter = options.status?.matches
    if (filter !== undefined) {
      // Keep the matching samples, in place. A sample without a status (NO_STATUS,
      // beyond the table) never matches; without a status column none has one.
      let kept = 0
      if (statuses !== undefined) {
        for (let i = 0; i < n; i++) {
          const s = statuses[i]
          if (filter[s] === 1) {
            values[kept] = values[i]
            statuses[kept++] = s
          }
        }
      }
      n = kept
    }

    const stats: RangeStats = {
      count: n,
      min: NaN,
      max: NaN,
      sum: NaN,
      quantiles: [],
      statuses: statusCounts ? {} : undefined,
      errors: 0,
      withStatus: 0,
      le: [],
    }
    if (statuses !== undefined) this.countStatuses(statuses, n, stats)
    for (const threshold of options.le ?? []) {
      let c = 0
      const t = threshold.ns
      for (let i = 0; i < n; i++) if (values[i] <= t) c++
      stats.le.push(c)
    }
    if (n === 0) return stats

    const extra = options.quantiles ?? []
    const index: number[] = []
    for (const q of STANDARD_QUANTILES) index.push(nearestRankIndex(q, n))
    for (const q of extra) index.push(nearestRankIndex(q, n))
    const ranks = [...new Set(index)].sort((a, b) => a - b)
    const at: number[] = []
    const summary = this.selector.summarize(values, n, ranks, at, guess ? metric.rankBuckets : undefined)
    if (guess) metric.rankBuckets = summary.buckets
    stats.min = summary.min
    stats.max = summary.max
    stats.sum = summary.sum
    for (const i of index) stats.quantiles.push(at[ranks.indexOf(i)])
    return stats
  }

  /** Errors, samples with a status and, when asked for, samples per status, of statuses[0..n-1]. */
  private countStatuses(statuses: Uint16Array, n: number, stats: RangeStats): void {
    let errors = 0
    let withStatus = 0
    const tally = this.tally
    const byStatus = stats.statuses
    const seen: number[] = []
    for (let i = 0; i < n; i++) {
      const s = statuses[i]
      if (s === NO_STATUS) continue
      withStatus++
      if (isErrorStatus(s)) errors++
      if (byStatus !== undefined && tally[s]++ === 0) seen.push(s)
    }
    if (byStatus !== undefined) {
      for (const s of seen) {
        byStatus[s] = tally[s]
        tally[s] = 0
      }
    }
    stats.errors = errors
    stats.withStatus = withStatus
  }

  private valuesFor(n: number): Float64Array {
    if (this.values.length < n) this.values = new Float64Array(Math.min(this.maxSamples, Math.max(n, 2 * this.values.length)))
    return this.values
  }

  private statusesFor(n: number): Uint16Array {
    if (this.statuses.length < n) this.statuses = new Uint16Array(Math.min(this.maxSamples, Math.max(n, 2 * this.statuses.length)))
    return this.statuses
  }
}
