import { DEFAULT_RING_POOL, type RingPool } from './ring-pool.js'
import { NO_STATUS, SAMPLE_BYTES, STATUS_BYTES, TIME_COLUMN } from './sample-layout.js'

/**
 * Bounded ring of samples (see sample-layout.ts for what a sample holds) in a
 * region of a Float64Array handed out by a RingPool: for a small ring, a slice of
 * a chunk shared with other rings (so a sparse metric costs no typed array of its
 * own); above the pool's threshold, an array of its own with base 0.
 *
 *   array:  [ ...other rings... | v0 v1 ... v(cap-1) | t0 t1 ... t(cap-1) | ... ]
 *                                 ^ base               ^ base + cap
 *   statuses (only once a status arrived): [ s0 s1 ... s(cap-1) ]
 *           sample at physical slot p: value at base + p, time at base + cap + p,
 *           status at statuses[p]
 *           oldest = (next - size) mod cap     next: the slot the next push writes
 *
 * Invariants
 *   - 0 <= size <= capacity <= maxCapacity; capacity starts small and grows to
 *     the pool's next size class (by a quarter of a power of two; x2 beyond the pooled sizes),
 *     clamped to maxCapacity, when a push finds the ring full below maxCapacity.
 *     Growing takes a region of the new capacity from the pool, copies the samples
 *     and gives the old region back.
 *   - The ring reads and writes only elements [base, base + 2 * capacity) of
 *     array; the pool may have made the region larger (its size class), and
 *     everything outside it belongs to other rings.
 *   - empty: size == 0; full: size == capacity. Once full at maxCapacity a push
 *     overwrites the oldest sample, so the ring keeps the most recent maxCapacity.
 *   - times never decrease from oldest to newest (the clock is monotonic and
 *     every push comes from one thread), so the samples whose time lies in any
 *     range [from, to) are a run of consecutive logical indices, found by two
 *     binary searches; the window (time > now - window) is the run that ends at
 *     the newest sample.
 *   - statuses is undefined until a push brings a status; from then on it has
 *     capacity cells, NO_STATUS for samples pushed without one.
 *   - After release() the region is the pool's again (possibly another ring's at
 *     once): capacity and size are 0, reads see nothing and pushes are ignored.
 *     A pooled ring dropped without release() keeps its region out of use for as
 *     long as its pool lives (MetricStore releases every ring it removes).
 *
 * Reads address samples by logical index (0 = oldest). The mutators are protected:
 * a Metric (the one subclass in the service) decides what is pushed and when.
 * push() is O(1) amortised and allocates only when the ring grows (log2(max) times
 * over a metric's life) or gets its status column; it never allocates per sample.
 */
export const INITIAL_CAPACITY = 8

const RELEASED = new Float64Array(0)

export class SampleRing {
  readonly maxCapacity: number
  private readonly pool: RingPool
  private slots: Float64Array
  private base: number
  private cap: number
  private next = 0
  private len = 0
  private statuses: Uint16Array | undefined = undefined
  /** Bumped by every mutation, as an int32 (it wraps after 2^32): equal counts, no change in between. */
  private changes = 0

  constructor(maxCapacity: number, pool: RingPool = DEFAULT_RING_POOL, initialCapacity = INITIAL_CAPACITY) {
    if (!Number.isInteger(maxCapacity) || maxCapacity < 1) {
      throw new RangeError(`maxCapacity must be a positive integer, got ${maxCapacity}`)
    }
    this.maxCapacity = maxCapacity
    this.pool = pool
    this.cap = Math.min(initialCapacity, maxCapacity)
    const region = pool.allocate(this.cap)
    this.slots = region.array
    this.base = region.base
  }

  get size(): number {
    return this.len
  }

  /**
   * Mutations so far, as an int32 that wraps after 2^32. A reader that saw the same
   * count before saw the same samples at the same logical indices (unless exactly a
   * multiple of 2^32 mutations came in between; MetricStore also compares the last
   * write's time).
   */
  get changeCount(): number {
    return this.changes
  }

  get capacity(): number {
    return this.cap
  }

  /** Whether the ring has a status column (it has received a status). */
  get hasStatuses(): boolean {
    return this.statuses !== undefined
  }

  /** Bytes held by the ring: its region (the pool's size class) and its status column; 0 once released. */
  get byteLength(): number {
    if (this.cap === 0) return 0
    return this.pool.regionSamples(this.cap) * SAMPLE_BYTES + (this.statuses === undefined ? 0 : this.statuses.length * STATUS_BYTES)
  }

  /** Appends one sample; `status` NO_STATUS for none. */
  protected push(value: number, time: number, status: number): void {
    this.changes = (this.changes + 1) | 0
    if (this.len === this.cap) {
      if (this.cap < this.maxCapacity) {
        if (this.cap === 0) return // released
        this.grow(this.cap + 1)
      } else {
        this.len-- // full at max: the oldest sample is overwritten below
      }
    }
    const next = this.next
    const i = (this.base + next) | 0
    const slots = this.slots
    slots[i] = value
    slots[(i + this.cap) | 0] = time
    if (status !== NO_STATUS || this.statuses !== undefined) this.statusColumn()[next] = status
    this.next = next + 1 === this.cap ? 0 : next + 1
    this.len++
  }

  /**
   * Appends values[0..n-1], all with the same time, as n push() calls would:
   * growing as needed, and keeping only the most recent maxCapacity. `status`
   * is one status for every value (NO_STATUS: none), or one per value.
   */
  protected pushMany(values: ArrayLike<number>, time: number, status: number | ArrayLike<number>): void {
    this.changes = (this.changes + 1) | 0
    const n = values.length
    if (this.len + n > this.cap && this.cap < this.maxCapacity) {
      if (this.cap === 0) return // released
      this.grow(this.len + n)
    }
    const cap = this.cap
    const base = this.base
    // Values that the rest of the batch would overwrite anyway are skipped.
    const from = n > cap ? n - cap : 0
    // At most two runs: up to the end of the region, then from its start. Native
    // set() and fill() copy and stamp a run several times faster than a JS loop.
    const next = this.next
    const firstRun = Math.min(n - from, cap - next)
    const secondRun = n - from - firstRun
    copyIn(this.slots, values, from, from + firstRun, base + next)
    this.slots.fill(time, base + cap + next, base + cap + next + firstRun)
    if (secondRun > 0) {
      copyIn(this.slots, values, from + firstRun, n, base)
      this.slots.fill(time, base + cap, base + cap + secondRun)
    }
    if (typeof status !== 'number' || status !== NO_STATUS || this.statuses !== undefined) {
      const column = this.statusColumn()
      if (typeof status === 'number') {
        column.fill(status, next, next + firstRun)
        if (secondRun > 0) column.fill(status, 0, secondRun)
      } else {
        copyIn(column, status, from, from + firstRun, next)
        if (secondRun > 0) copyIn(column, status, from + firstRun, n, 0)
      }
    }
    this.next = secondRun > 0 ? secondRun : next + firstRun === cap ? 0 : next + firstRun
    this.len = Math.min(cap, this.len + n - from)
  }

  /**
   * Gives the region back to the pool and leaves the ring empty for good: size and
   * capacity 0, later pushes ignored. Called when the metric is deleted.
   */
  protected release(): void {
    if (this.cap === 0) return
    this.changes = (this.changes + 1) | 0
    this.pool.release(this.slots, this.base, this.cap)
    this.slots = RELEASED
    this.statuses = undefined
    this.base = 0
    this.cap = 0
    this.next = 0
    this.len = 0
  }

  /** Logical index of the first sample with time >= `time`, or size: samples from it on lie at or after `time`. */
  firstAtOrAfter(time: number): number {
    const slots = this.slots
    const times = this.base + this.cap
    let lo = 0
    let hi = this.len
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (slots[times + this.physical(mid)] >= time) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** Logical index of the first sample with time > `time`, or size. The window ending now starts at firstAfter(now - window). */
  firstAfter(time: number): number {
    const slots = this.slots
    const times = this.base + this.cap
    let lo = 0
    let hi = this.len
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (slots[times + this.physical(mid)] > time) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /**
   * Copies the values of logical indices [first, end) into dest from index 0,
   * oldest first; returns how many (end - first). Samples with time in [from, to)
   * are [firstAtOrAfter(from), firstAtOrAfter(to)).
   */
  copyValues(first: number, end: number, dest: Float64Array): number {
    const count = end - first
    if (count <= 0) return 0
    // At most two runs of the values column, each a memcpy.
    const base = this.base
    const p = this.physical(first)
    const firstRun = Math.min(count, this.cap - p)
    dest.set(this.slots.subarray(base + p, base + p + firstRun), 0)
    if (count > firstRun) dest.set(this.slots.subarray(base, base + count - firstRun), firstRun)
    return count
  }

  /**
   * Copies the statuses of logical indices [first, end) into dest from index 0;
   * returns false, copying nothing, when the ring has no status column (no
   * sample has a status).
   */
  copyStatuses(first: number, end: number, dest: Uint16Array): boolean {
    const statuses = this.statuses
    if (statuses === undefined) return false
    const count = end - first
    if (count <= 0) return true
    const p = this.physical(first)
    const firstRun = Math.min(count, this.cap - p)
    dest.set(statuses.subarray(p, p + firstRun), 0)
    if (count > firstRun) dest.set(statuses.subarray(0, count - firstRun), firstRun)
    return true
  }

  /** Visits every sample, oldest first (persistence and tests); status NO_STATUS when it has none. */
  forEach(visit: (value: number, time: number, status: number) => void): void {
    const { slots, base, cap, len, statuses } = this
    let p = this.physical(0)
    for (let k = 0; k < len; k++) {
      visit(slots[base + p], slots[base + TIME_COLUMN * cap + p], statuses === undefined ? NO_STATUS : statuses[p])
      p = p + 1 === cap ? 0 : p + 1
    }
  }

  private physical(logical: number): number {
    const p = this.next - this.len + logical
    return p < 0 ? p + this.cap : p >= this.cap ? p - this.cap : p
  }

  /** The status column, created (every cell NO_STATUS) on first use. */
  private statusColumn(): Uint16Array {
    if (this.statuses === undefined) this.statuses = new Uint16Array(this.cap).fill(NO_STATUS)
    return this.statuses
  }

  /** Grows the capacity class by class (clamped to maxCapacity) until it holds `needed` samples. */
  private grow(needed: number): void {
    // Called only below maxCapacity, before the ring has ever wrapped: the samples
    // sit in order from slot 0, and the next one goes at slot len.
    let newCap = this.cap
    while (newCap < needed && newCap < this.maxCapacity) newCap = Math.min(this.pool.grownCapacity(newCap), this.maxCapacity)
    const region = this.pool.allocate(newCap)
    const { slots, base, cap, len, statuses } = this
    const to = region.array
    // A loop rather than set(subarray()): no view objects, as most growth is of small rings.
    for (let i = 0; i < len; i++) {
      to[region.base + i] = slots[base + i]
      to[region.base + newCap + i] = slots[base + cap + i]
    }
    if (statuses !== undefined) {
      this.statuses = new Uint16Array(newCap).fill(NO_STATUS)
      this.statuses.set(statuses.subarray(0, len))
    }
    this.pool.release(slots, base, cap)
    this.slots = region.array
    this.base = region.base
    this.next = this.len
    this.cap = newCap
  }
}

/** into[at..] = values[from..to): native set() for a whole array, a loop for a part (no view object). */
function copyIn(into: Float64Array | Uint16Array, values: ArrayLike<number>, from: number, to: number, at: number): void {
  if (from === 0 && to === values.length) {
    into.set(values, at)
    return
  }
  for (let i = from; i < to; i++) into[at + i - from] = values[i]
}
