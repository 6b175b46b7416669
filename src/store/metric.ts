import { CounterBlock, addToCell, readCell, writeCell } from './counter-block.js'
import type { BucketIndex } from './histogram-buckets.js'
import type { RingPool } from './ring-pool.js'
import type { RangeStats } from './range-summary.js'
import { NO_STATUS } from './sample-layout.js'
import { SampleRing } from './sample-ring.js'
import { StatusTally } from './status-tally.js'

export const JOB_EVENTS = ['created', 'started', 'completed', 'failed', 'retried'] as const
export type JobEvent = (typeof JOB_EVENTS)[number]

/**
 * Cell layout of a metric's counter block:
 *   [0] sum of the values in the histogram, in ns (a double: the histogram's _sum)
 *   [1] clock time of the last write (a double), for idle eviction
 *   [2..6] job events in JOB_EVENTS order
 *   [7..] histogram buckets for the B bounds, then +Inf (not cumulative): two
 *       32-bit counts per cell, read and added through the block's Uint32Array
 * Every sample lands in exactly one bucket, so the metric's total is their sum
 * (plus the samples still pending, below): no cell of its own is needed. The
 * exception is samples restored from a state file whose histogram could not
 * carry over (saved with other bucket bounds): they cannot be re-bucketed, so
 * they are kept aside as a count and a sum (`outsideHistogram`), in the total and
 * the all-time sum but in no bucket and not in the histogram's sum, so that the
 * histogram's counts and _sum always describe the same samples.
 *
 * Bucket counts are 32-bit because a sparse id's histogram is most of its counter
 * block (26 buckets: 208 B as 64-bit cells, 104 B as 32-bit). A bucket still
 * counts exactly far past 2^32: an add that wraps its 32 bits carries 1 into the
 * bucket's high part (`carries`), allocated by the few metrics that ever need
 * one. The wrap and its carry happen in one synchronous step on the event loop,
 * the only thread that writes or reads them.
 *
 * A single recorded sample is not bucketed at once: it only joins the ring's
 * `pending` newest samples, and settle() buckets all of them in one loop (one
 * atomic add per touched bucket) before anything reads the histogram, before a
 * batch, and before a push would overwrite a pending sample. The cost of a bucket
 * lookup and an atomic add leaves the per-sample path; each sample is still
 * counted exactly once.
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
const BUCKET_SLOT = 7
const TWO_32 = 2 ** 32

/** Cells of a metric's counter block with `buckets` histogram buckets. */
export function blockWidth(buckets: number): number {
  return BUCKET_SLOT + Math.ceil(buckets / 2)
}

/**
 * What every metric of a store shares: the histogram's bucket lookup and the
 * scratch that bucketing uses. Owned by the store; one event loop uses it.
 */
export class MetricShared {
  /** Per-batch bucket tallies, flushed with one atomic add per touched bucket. */
  readonly bucketTally: Uint32Array
  /** A batch's statuses, counted with its buckets before it is recorded (MetricStore.ingestSamples). */
  readonly statusTally = new StatusTally()
  /** Reused copy of pending values while they are bucketed. */
  private scratch = new Float64Array(0)

  constructor(
    readonly buckets: BucketIndex,
    readonly pool: RingPool,
    readonly maxSamples: number,
  ) {
    this.bucketTally = new Uint32Array(buckets.bounds.length + 1)
  }

  /** Empties the tallies of a batch that was counted and not recorded (cheap when they are empty). */
  clearBatchTally(): void {
    this.statusTally.clear()
    this.bucketTally.fill(0)
  }

  scratchFor(n: number): Float64Array {
    if (this.scratch.length < n) this.scratch = new Float64Array(Math.min(this.maxSamples, Math.max(n, 2 * this.scratch.length)))
    return this.scratch
  }
}

/**
 * One metric id: the ring of its recent samples (a Metric extends it, so the
 * ring's mutators stay protected and every write goes through the methods below,
 * which keep the histogram, sum and totals in step), the place of its counter
 * block in the store's slab, and its status totals once it has statuses.
 * Inheriting the ring rather than holding one, keeping the counter block's views
 * and base rather than a CounterBlock, and keeping the two doubles in counter
 * cells rather than in fields (each would be a boxed heap number) leave a sparse
 * id one heap object instead of five (heap per id 314 -> ~190 B, bench S7).
 */
export class Metric extends SampleRing {
  /** The newest `pending` samples of the ring are not in the histogram yet (see above). */
  private pending = 0
  /** Where the last large snapshot found its ranks: the next one starts from there (bucket-select.ts). */
  rankBuckets: Int32Array | undefined = undefined
  /** The last large window read and what it found (MetricStore.windowStats). */
  lastWindow: KeptWindow | undefined = undefined
  /** Per histogram bucket, the multiples of 2^32 its 32-bit count has wrapped; allocated on the first wrap. */
  private carries: Float64Array | undefined = undefined
  /** Samples per status since the id was created; allocated with the first status. */
  private statusTotals: StatusTotals | undefined = undefined
  /** Restored samples that are in no histogram bucket (see the cell layout); allocated by the few metrics that have any. */
  private outsideHistogram: { readonly samples: number; readonly sumNs: number } | undefined = undefined

  /** The counter block: cells [cellBase, ...) of `cells`, and of `reals` and `words` over the same memory. */
  private readonly cells: BigInt64Array
  private readonly reals: Float64Array
  private readonly words: Uint32Array
  private readonly cellBase: number

  constructor(
    readonly id: string,
    private readonly shared: MetricShared,
    counters: CounterBlock,
    createdAt: number,
  ) {
    super(shared.maxSamples, shared.pool)
    this.cells = counters.cells
    this.reals = counters.reals
    this.words = counters.words
    this.cellBase = counters.base
    this.lastWriteAt = createdAt
  }

  /** Number of histogram buckets, +Inf included. */
  get histogramBucketCount(): number {
    return this.shared.bucketTally.length
  }

  /** The counter block, as an object (to give it back to the slab). */
  counterBlock(): CounterBlock {
    return new CounterBlock(this.cells, this.cellBase, blockWidth(this.histogramBucketCount), this.reals, this.words)
  }

  /** Sum of every value ever recorded, in ns (the summary's _sum). */
  get sumNs(): number {
    const outside = this.outsideHistogram
    return outside === undefined ? this.histogramSumNs : this.histogramSumNs + outside.sumNs
  }

  /** Sum of the values the histogram counts, in ns (its _sum); sumNs unless a restore left samples outside it. */
  get histogramSumNs(): number {
    return this.reals[this.cellBase + SUM_SLOT]
  }

  private set histogramSumNs(value: number) {
    this.reals[this.cellBase + SUM_SLOT] = value
  }

  /** Clock time of the last write, for idle eviction. */
  get lastWriteAt(): number {
    return this.reals[this.cellBase + LAST_WRITE_SLOT]
  }

  private set lastWriteAt(time: number) {
    this.reals[this.cellBase + LAST_WRITE_SLOT] = time
  }

  /** Records one sample (validated: see ingest.ts) at `time`; `status` NO_STATUS for none. */
  record(value: number, time: number, status: number): void {
    if (this.pending === this.maxCapacity) this.settle() // the push would overwrite a pending sample
    this.push(value, time, status)
    this.pending++
    this.histogramSumNs += value
    this.lastWriteAt = time
    if (status !== NO_STATUS) this.totalsOfStatuses().add(status, 1)
  }

  /**
   * Records a batch (validated), every value at `time`; `status` one for all
   * (NO_STATUS: none) or one per value. Its samples are bucketed now.
   */
  recordBatch(values: ArrayLike<number>, time: number, status: number | ArrayLike<number>): void {
    // Older pending samples first, so that `pending` stays a count of the newest ones.
    // A batch counted beforehand (MetricStore.ingestSamples) has its buckets in the
    // shared tally already; settling adds them with the pending samples', all this metric's.
    this.settle()
    this.pushMany(values, time, status)
    this.lastWriteAt = time
    if (typeof status === 'number') {
      this.histogramSumNs += this.countBuckets(values, values.length)
      if (status !== NO_STATUS) this.totalsOfStatuses().add(status, values.length)
      return
    }
    const { statusTally, buckets, bucketTally } = this.shared
    if (!statusTally.holds(status)) statusTally.countWithBuckets(status, values, buckets, bucketTally)
    this.histogramSumNs += statusTally.countedSum
    this.addBucketTally()
    statusTally.drainInto(this.totalsOfStatuses())
  }

  recordJob(event: JobEvent, count: number, time: number): void {
    addToCell(this.cells, this.cellBase + JOB_SLOT[event], count)
    this.lastWriteAt = time
  }

  /** Adds the pending samples to the histogram. Idempotent; cheap when nothing is pending. */
  settle(): void {
    // A removed metric's ring is empty: nothing to count, and its counters may be another's now.
    const n = Math.min(this.pending, this.size)
    this.pending = 0
    if (n === 0) return
    const values = this.shared.scratchFor(n)
    this.copyValues(this.size - n, this.size, values)
    this.countBuckets(values, n)
  }

  /** Gives the ring's region back to the pool; the metric is gone (MetricStore.delete). */
  retire(): void {
    this.pending = 0
    this.release()
  }

  /** Counts values[0..n-1] into the histogram buckets; returns their sum. */
  private countBuckets(values: ArrayLike<number>, n: number): number {
    const buckets = this.shared.buckets
    const tally = this.shared.bucketTally
    let sum = 0
    for (let i = 0; i < n; i++) {
      const v = values[i]
      sum += v
      tally[buckets.of(v)]++
    }
    this.addBucketTally()
    return sum
  }

  /** Adds the shared bucket tally to the histogram, one add per touched bucket, and empties it. */
  private addBucketTally(): void {
    const tally = this.shared.bucketTally
    for (let b = 0; b < tally.length; b++) {
      if (tally[b] !== 0) {
        this.addToBucket(b, tally[b])
        tally[b] = 0
      }
    }
  }

  /** Adds `amount` (below 2^32) to histogram bucket i, carrying into its high part when the low 32 bits wrap. */
  private addToBucket(i: number, amount: number): void {
    const before = Atomics.add(this.words, this.firstBucketWord + i, amount)
    if (before + amount >= TWO_32) this.carriesFor()[i]++
  }

  /** Index in `words` of bucket 0. */
  private get firstBucketWord(): number {
    return (this.cellBase + BUCKET_SLOT) * 2
  }

  private carriesFor(): Float64Array {
    this.carries ??= new Float64Array(this.histogramBucketCount)
    return this.carries
  }

  private totalsOfStatuses(): StatusTotals {
    this.statusTotals ??= new StatusTotals()
    return this.statusTotals
  }

  /** Samples recorded since creation: the histogram buckets plus the pending samples. */
  get total(): number {
    let total = this.pending + (this.outsideHistogram?.samples ?? 0)
    const first = this.firstBucketWord
    for (let i = 0; i < this.histogramBucketCount; i++) total += Atomics.load(this.words, first + i)
    const high = this.carries
    if (high !== undefined) for (let i = 0; i < high.length; i++) total += high[i] * TWO_32
    return total
  }

  jobCount(event: JobEvent): number {
    return readCell(this.cells, this.cellBase + JOB_SLOT[event])
  }

  jobCounts(): JobCounts {
    const started = this.jobCount('started')
    const completed = this.jobCount('completed')
    const failed = this.jobCount('failed')
    return {
      created: this.jobCount('created'),
      started,
      completed,
      failed,
      retried: this.jobCount('retried'),
      in_progress: Math.max(0, started - completed - failed),
    }
  }

  /**
   * Non-cumulative count of bucket i (i == bounds.length is +Inf), pending samples
   * left out: settle() first (MetricStore.settle, and every snapshot, do).
   */
  bucketCount(i: number): number {
    const low = Atomics.load(this.words, this.firstBucketWord + i)
    const high = this.carries
    return high === undefined ? low : low + high[i] * TWO_32
  }

  /** Samples per status since the id was created, ascending by status. */
  statusCounts(): Array<[status: number, count: number]> {
    return this.statusTotals?.entries() ?? []
  }

  /**
   * Puts back counters saved by an earlier process (see state-file.ts). Without
   * saved buckets (they were counted over other bounds) the histogram starts
   * again from zero, counts and sum together, while the total and the all-time
   * sum carry over: the saved samples are kept outside the histogram.
   */
  restoreCounters(saved: SavedCounters, lastWriteAt: number): void {
    const { cells, cellBase } = this
    for (const event of JOB_EVENTS) writeCell(cells, cellBase + JOB_SLOT[event], saved.jobs[event])
    let bucketed = 0
    let histogramSum = 0
    if (saved.buckets !== undefined) {
      const n = Math.min(saved.buckets.length, this.histogramBucketCount)
      for (let i = 0; i < n; i++) {
        const count = saved.buckets[i]
        Atomics.store(this.words, this.firstBucketWord + i, count % TWO_32)
        if (count >= TWO_32) this.carriesFor()[i] = Math.floor(count / TWO_32)
        bucketed += count
      }
      histogramSum = saved.histogramSumNs ?? saved.sumNs
    }
    const outside = saved.total - bucketed
    this.outsideHistogram = outside > 0 ? { samples: outside, sumNs: saved.sumNs - histogramSum } : undefined
    this.histogramSumNs = histogramSum
    this.lastWriteAt = lastWriteAt
    if (saved.statuses !== undefined) {
      const totals = this.totalsOfStatuses()
      for (const [status, count] of Object.entries(saved.statuses)) totals.add(Number(status), count)
    }
  }

  /**
   * Puts back one saved sample, oldest first. Its value is already in the restored
   * counters (total, sum, histogram), so only the ring takes it.
   */
  restoreSample(value: number, time: number, status: number): void {
    this.push(value, time, status)
  }
}

/** Counters saved with a metric by the state file. */
export interface SavedCounters {
  total: number
  sumNs: number
  jobs: Readonly<Record<JobEvent, number>>
  /** Non-cumulative bucket counts, +Inf last; absent: the histogram starts from zero. */
  buckets?: readonly number[]
  /** Sum of the values in the buckets when it is not sumNs (some samples are in no bucket). */
  histogramSumNs?: number
  /** Samples per status since creation, keyed by status; absent when none had one. */
  statuses?: Readonly<Record<string, number>>
}

export interface JobCounts {
  created: number
  started: number
  completed: number
  failed: number
  retried: number
  in_progress: number
}

/** A window's statistics, and what says they still hold: the same run of samples, unchanged, read the same way. */
export interface KeptWindow {
  readonly first: number
  readonly end: number
  /** The read options as text (readOptionsKey), and whether statuses were counted. */
  readonly key: string
  readonly changes: number
  readonly lastWriteAt: number
  readonly stats: RangeStats
}

/**
 * Samples per status since a metric was created: 64-bit cells in
 * SharedArrayBuffer memory updated with Atomics, like every other counter, one
 * per distinct status the metric has seen (a handful, in practice), found by a
 * linear scan of `codes`.
 *
 * A cell is added to through its two 32-bit words (little-endian, as
 * histogram-buckets.ts assumes: low word first), the high word taking the low
 * word's carry: adding a BigInt (allocated per add) was 0.6 us per status
 * batch in a profile of the service (bench S2-status). Read as one BigInt64
 * it is exact.
 */
class StatusTotals {
  private codes = new Uint16Array(4)
  private cells = new BigInt64Array(new SharedArrayBuffer(4 * 8))
  private words = new Uint32Array(this.cells.buffer)
  private used = 0

  add(status: number, amount: number): void {
    // cellOf may grow the arrays: take the cell first, then this.cells.
    const cell = this.cellOf(status)
    if (amount >= TWO_32) return addToCell(this.cells, cell, amount) // a restored total
    const low = 2 * cell
    if (Atomics.add(this.words, low, amount) + amount >= TWO_32) Atomics.add(this.words, low + 1, 1)
  }

  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = []
    for (let i = 0; i < this.used; i++) out.push([this.codes[i], readCell(this.cells, i)])
    return out.sort((a, b) => a[0] - b[0])
  }

  private cellOf(status: number): number {
    for (let i = 0; i < this.used; i++) if (this.codes[i] === status) return i
    if (this.used === this.codes.length) {
      const codes = new Uint16Array(this.used * 2)
      codes.set(this.codes)
      const cells = new BigInt64Array(new SharedArrayBuffer(this.used * 2 * 8))
      for (let i = 0; i < this.used; i++) cells[i] = Atomics.load(this.cells, i)
      this.codes = codes
      this.cells = cells
      this.words = new Uint32Array(cells.buffer)
    }
    this.codes[this.used] = status
    return this.used++
  }
}
