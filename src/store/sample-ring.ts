import { DEFAULT_RING_POOL, type RingPool } from './ring-pool.js'

/**
 * Bounded ring of (value, timestamp) pairs in a region of a Float64Array handed
 * out by a RingPool: for a small ring, a slice of a chunk shared with other rings
 * (so a sparse metric costs no typed array of its own); above the pool's
 * threshold, an array of its own with base 0. The region keeps values and times
 * in two halves, so a read streams the values alone (half the memory traffic of
 * interleaved pairs) and copies them with a memcpy.
 *
 *   array:  [ ...other rings... | v0 v1 ... v(cap-1) | t0 t1 ... t(cap-1) | ... ]
 *                                 ^ base               ^ base + cap
 *           value of pair p at base + p, its time at base + cap + p
 *           oldest = (next - size) mod cap     next: the pair push() writes
 *
 * Invariants
 *   - 0 <= size <= capacity <= maxCapacity; capacity starts small and grows to
 *     the pool's next size class (by a quarter of a power of two; x2 beyond the pooled sizes),
 *     clamped to maxCapacity, when a push finds the ring full below maxCapacity.
 *     Growing takes a region of the new capacity from the pool, copies the pairs
 *     and gives the old region back.
 *   - The ring reads and writes only elements [base, base + 2 * capacity) of
 *     array; the pool may have made the region larger (its size class), and
 *     everything outside it belongs to other rings.
 *   - empty: size == 0; full: size == capacity. Once full at maxCapacity a push
 *     overwrites the oldest pair, so the ring keeps the most recent maxCapacity.
 *   - timestamps never decrease from oldest to newest (the clock is monotonic and
 *     every push comes from one thread), so the samples younger than any cut-off
 *     form a suffix of the ring, found by binary search.
 *   - After release() the region is the pool's again (possibly another ring's at
 *     once): capacity and size are 0, reads see nothing and pushes are ignored.
 *     A pooled ring dropped without release() keeps its region out of use for as
 *     long as its pool lives (MetricStore releases every ring it removes).
 *
 * push() is O(1) amortised and allocates only when the ring grows (log2(max) times
 * over a metric's life); it never allocates per sample.
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

  get capacity(): number {
    return this.cap
  }

  /** Bytes held by the ring's region (its pool size class; 0 once released). */
  get byteLength(): number {
    return this.cap === 0 ? 0 : this.pool.regionPairs(this.cap) * 16
  }

  push(value: number, time: number): void {
    if (this.len === this.cap) {
      if (this.cap < this.maxCapacity) {
        if (this.cap === 0) return // released
        this.grow(this.cap + 1)
      } else {
        this.len-- // full at max: the oldest pair is overwritten below
      }
    }
    const i = (this.base + this.next) | 0
    const slots = this.slots
    slots[i] = value
    slots[(i + this.cap) | 0] = time
    this.next = this.next + 1 === this.cap ? 0 : this.next + 1
    this.len++
  }

  /**
   * Appends values[0..n-1], all with the same time, as n push() calls would:
   * growing as needed, and keeping only the most recent maxCapacity.
   */
  pushMany(values: ArrayLike<number>, time: number): void {
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
    this.copyIn(values, from, from + firstRun, base + next)
    this.slots.fill(time, base + cap + next, base + cap + next + firstRun)
    const secondRun = n - from - firstRun
    if (secondRun > 0) {
      this.copyIn(values, from + firstRun, n, base)
      this.slots.fill(time, base + cap, base + cap + secondRun)
    }
    this.next = secondRun > 0 ? secondRun : next + firstRun === cap ? 0 : next + firstRun
    this.len = Math.min(cap, this.len + n - from)
  }

  /** slots[at..] = values[from..to). */
  private copyIn(values: ArrayLike<number>, from: number, to: number, at: number): void {
    const slots = this.slots
    if (from === 0 && to === values.length) {
      slots.set(values, at)
      return
    }
    for (let i = from; i < to; i++) slots[at + i - from] = values[i]
  }

  clear(): void {
    this.next = 0
    this.len = 0
  }

  /**
   * Gives the region back to the pool and leaves the ring empty for good: size and
   * capacity 0, later pushes ignored. Called when the metric is deleted.
   */
  release(): void {
    if (this.cap === 0) return
    this.pool.release(this.slots, this.base, this.cap)
    this.slots = RELEASED
    this.base = 0
    this.cap = 0
    this.next = 0
    this.len = 0
  }

  /**
   * Copies the values whose timestamp is strictly after `since` into `dest`
   * (oldest first) and returns their count. `dest` must hold at least `size` values.
   */
  copyWindow(since: number, dest: Float64Array): number {
    return this.copyFrom(this.firstAfter(since), dest)
  }

  /** Copies the n newest values (n <= size) into `dest`, oldest first. */
  copyNewest(n: number, dest: Float64Array): void {
    this.copyFrom(this.len - n, dest)
  }

  /** Copies the values from logical index `first` (0 = oldest) to the newest into dest; returns how many. */
  private copyFrom(first: number, dest: Float64Array): number {
    const count = this.len - first
    // At most two runs of the values half: from the first value up to the half's
    // end, then from the half's start. Both are plain memcpys.
    const base = this.base
    const p = this.physical(first)
    const firstRun = Math.min(count, this.cap - p)
    dest.set(this.slots.subarray(base + p, base + p + firstRun), 0)
    if (count > firstRun) dest.set(this.slots.subarray(base, base + count - firstRun), firstRun)
    return count
  }

  /** Visits every stored pair, oldest first (used for persistence and tests). */
  forEach(visit: (value: number, time: number) => void): void {
    const slots = this.slots
    const base = this.base
    const cap = this.cap
    const len = this.len
    let p = this.physical(0)
    for (let k = 0; k < len; k++) {
      visit(slots[base + p], slots[base + cap + p])
      p = p + 1 === cap ? 0 : p + 1
    }
  }

  /** Logical index (0 = oldest) of the first pair with time > since, or size. */
  private firstAfter(since: number): number {
    const slots = this.slots
    const times = this.base + this.cap
    let lo = 0
    let hi = this.len
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (slots[times + this.physical(mid)] > since) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  private physical(logical: number): number {
    const p = this.next - this.len + logical
    return p < 0 ? p + this.cap : p >= this.cap ? p - this.cap : p
  }

  /** Grows the capacity class by class (clamped to maxCapacity) until it holds `needed` pairs. */
  private grow(needed: number): void {
    // Called only below maxCapacity, before the ring has ever wrapped: the pairs
    // sit in order from pair 0, and the next one goes at pair len.
    let newCap = this.cap
    while (newCap < needed && newCap < this.maxCapacity) newCap = Math.min(this.pool.grownCapacity(newCap), this.maxCapacity)
    const region = this.pool.allocate(newCap)
    const { slots, base, cap, len } = this
    const to = region.array
    // A loop rather than set(subarray()): no view objects, as most growth is of small rings.
    for (let i = 0; i < len; i++) {
      to[region.base + i] = slots[base + i]
      to[region.base + newCap + i] = slots[base + cap + i]
    }
    this.pool.release(slots, base, cap)
    this.slots = region.array
    this.base = region.base
    this.next = this.len
    this.cap = newCap
  }
}
