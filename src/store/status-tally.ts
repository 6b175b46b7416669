import type { BucketIndex } from './histogram-buckets.js'

/** Every 16-bit value: a Uint16Array's statuses all have a cell. */
const CELLS = 0x10000

/**
 * A batch's statuses counted before the batch is recorded (with its histogram
 * buckets: countWithBuckets), then added to a metric's totals with one add per
 * distinct status (a handful, in practice).
 * Owned by the store (MetricShared); one batch at a time.
 *
 * Even and odd positions count into two tallies: a batch is mostly one status,
 * and increments of one cell wait on each other (2.3 -> 1.5 us per 1,000
 * statuses; counting runs in a register was slower, it mispredicts). A status
 * is new to the batch when both its cells are 0.
 *
 * There is a cell for every 16-bit value, so counting a Uint16Array (what the
 * HTTP scanner hands over) needs no range check per status: the batch is in
 * range when its largest distinct status is, which `count` returns. That check
 * was a pass of its own over the batch, 1.5 us per 1,000 statuses (bench
 * S2-status). The cells stay untouched (and unbacked by memory) above the few
 * statuses batches carry.
 *
 *   even[s] + odd[s]   samples with status s in the counted batch
 *   distinct[0..d-1]   the statuses with a nonzero count, in first-seen order
 *   empty              every cell 0, d = 0, nothing counted
 */
export class StatusTally {
  private readonly even = new Uint32Array(CELLS)
  private readonly odd = new Uint32Array(CELLS)
  private readonly distinct = new Uint16Array(CELLS)
  private distinctCount = 0
  /** The batch the cells hold, so that a recording knows whether its statuses were counted. */
  private counted: ArrayLike<number> | undefined = undefined
  /** The sum of the counted batch's values. */
  countedSum = 0

  /**
   * Counts a batch into the empty tally: its integer statuses 0..65535 and, in
   * the same pass, each value's histogram bucket into `bucketTally` (left there
   * for the metric to add) and the values' sum (countedSum). Returns the largest
   * status. The caller empties both tallies again (MetricShared.clearBatchTally,
   * or the metric as it records the batch), whatever happens next.
   *
   * One pass rather than a pass over the statuses and then one over the values:
   * the counting hides behind the bucket lookups (in-process, 4.3 -> 3.4 us per
   * 1,000 samples, against 3.0 without statuses; bench S2-status).
   */
  countWithBuckets(statuses: ArrayLike<number>, values: ArrayLike<number>, buckets: BucketIndex, bucketTally: Uint32Array): number {
    const { even, odd, distinct } = this
    const n = statuses.length
    let d = 0
    let sum = 0
    let i = 0
    for (; i + 1 < n; i += 2) {
      const v = values[i]
      const w = values[i + 1]
      sum += v
      sum += w
      bucketTally[buckets.of(v)]++
      bucketTally[buckets.of(w)]++
      const s = statuses[i]
      const t = statuses[i + 1]
      if (even[s]++ === 0 && odd[s] === 0) distinct[d++] = s
      if (odd[t]++ === 0 && even[t] === 0) distinct[d++] = t
    }
    if (i < n) {
      const v = values[i]
      sum += v
      bucketTally[buckets.of(v)]++
      const s = statuses[i]
      if (even[s]++ === 0 && odd[s] === 0) distinct[d++] = s
    }
    this.distinctCount = d
    this.counted = statuses
    this.countedSum = sum
    let largest = 0
    for (let k = 0; k < d; k++) largest = Math.max(largest, distinct[k])
    return largest
  }

  /** Whether the tally holds the counts of this very batch. */
  holds(statuses: ArrayLike<number>): boolean {
    return this.counted === statuses
  }

  /** Adds each counted status's samples to `totals`, and empties the tally. */
  drainInto(totals: { add(status: number, amount: number): void }): void {
    const { even, odd, distinct } = this
    try {
      for (let k = 0; k < this.distinctCount; k++) {
        const s = distinct[k]
        totals.add(s, even[s] + odd[s])
      }
    } finally {
      this.clear()
    }
  }

  /** Empties the tally (cheap when it is empty already). */
  clear(): void {
    const { even, odd, distinct } = this
    for (let k = 0; k < this.distinctCount; k++) {
      const s = distinct[k]
      even[s] = 0
      odd[s] = 0
    }
    this.distinctCount = 0
    this.counted = undefined
    this.countedSum = 0
  }
}
