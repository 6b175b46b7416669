/**
 * Bounded ring of (value, timestamp) pairs, interleaved in one Float64Array so a
 * sparse metric costs one small typed array rather than two.
 *
 *   slots:  [ v0 t0 | v1 t1 | ... | v(cap-1) t(cap-1) ]
 *                  ^ oldest = (next - size) mod cap    ^ next: where push() writes
 *
 * Invariants
 *   - 0 <= size <= capacity <= maxCapacity; capacity starts small and doubles
 *     (clamped to maxCapacity) when a push finds the ring full below maxCapacity.
 *   - empty: size == 0; full: size == capacity. Once full at maxCapacity a push
 *     overwrites the oldest pair, so the ring keeps the most recent maxCapacity.
 *   - timestamps never decrease from oldest to newest (the clock is monotonic and
 *     every push comes from one thread), so the samples younger than any cut-off
 *     form a suffix of the ring, found by binary search.
 *
 * push() is O(1) amortised and allocates only when the ring grows (log2(max) times
 * over a metric's life); it never allocates per sample.
 */
export const INITIAL_CAPACITY = 8

export interface WindowSummary {
  count: number
  min: number
  max: number
  sum: number
}

export class SampleRing {
  readonly maxCapacity: number
  private slots: Float64Array
  private cap: number
  private next = 0
  private len = 0

  constructor(maxCapacity: number, initialCapacity = INITIAL_CAPACITY) {
    if (!Number.isInteger(maxCapacity) || maxCapacity < 1) {
      throw new RangeError(`maxCapacity must be a positive integer, got ${maxCapacity}`)
    }
    this.maxCapacity = maxCapacity
    this.cap = Math.min(initialCapacity, maxCapacity)
    this.slots = new Float64Array(this.cap * 2)
  }

  get size(): number {
    return this.len
  }

  get capacity(): number {
    return this.cap
  }

  /** Bytes held by the backing array. */
  get byteLength(): number {
    return this.slots.byteLength
  }

  push(value: number, time: number): void {
    if (this.len === this.cap) {
      if (this.cap < this.maxCapacity) this.grow()
      else this.len-- // full at max: the oldest pair is overwritten below
    }
    const i = this.next << 1
    this.slots[i] = value
    this.slots[i + 1] = time
    this.next = this.next + 1 === this.cap ? 0 : this.next + 1
    this.len++
  }

  /**
   * Appends values[0..n-1], all with the same time, as n push() calls would:
   * growing as needed, and keeping only the most recent maxCapacity.
   */
  pushMany(values: ArrayLike<number>, time: number): void {
    const n = values.length
    while (this.len + n > this.cap && this.cap < this.maxCapacity) this.grow()
    const cap = this.cap
    const slots = this.slots
    // Values that the rest of the batch would overwrite anyway are skipped.
    const from = n > cap ? n - cap : 0
    let next = this.next
    for (let i = from; i < n; i++) {
      const j = next << 1
      slots[j] = values[i]
      slots[j + 1] = time
      next = next + 1 === cap ? 0 : next + 1
    }
    this.next = next
    this.len = Math.min(cap, this.len + n - from)
  }

  clear(): void {
    this.next = 0
    this.len = 0
  }

  /**
   * Copies the values whose timestamp is strictly after `since` into `dest`
   * (oldest first) and returns their count, min, max and sum.
   * `dest` must hold at least `size` values.
   */
  copyWindow(since: number, dest: Float64Array): WindowSummary {
    const first = this.firstAfter(since)
    const count = this.len - first
    let min = Infinity
    let max = -Infinity
    let sum = 0
    const slots = this.slots
    const cap = this.cap
    let p = this.physical(first)
    for (let k = 0; k < count; k++) {
      const v = slots[p << 1]
      dest[k] = v
      if (v < min) min = v
      if (v > max) max = v
      sum += v
      p = p + 1 === cap ? 0 : p + 1
    }
    return { count, min, max, sum }
  }

  /** Visits every stored pair, oldest first (used for persistence and tests). */
  forEach(visit: (value: number, time: number) => void): void {
    let p = this.physical(0)
    for (let k = 0; k < this.len; k++) {
      visit(this.slots[p << 1], this.slots[(p << 1) + 1])
      p = p + 1 === this.cap ? 0 : p + 1
    }
  }

  /** Logical index (0 = oldest) of the first pair with time > since, or size. */
  private firstAfter(since: number): number {
    let lo = 0
    let hi = this.len
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.slots[(this.physical(mid) << 1) + 1] > since) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  private physical(logical: number): number {
    const p = this.next - this.len + logical
    return p < 0 ? p + this.cap : p >= this.cap ? p - this.cap : p
  }

  private grow(): void {
    // Called only below maxCapacity, when the ring has never wrapped: the pairs
    // sit in order from index 0, and the next one goes at index len.
    const newCap = Math.min(this.cap * 2, this.maxCapacity)
    const grown = new Float64Array(newCap * 2)
    grown.set(this.slots)
    this.slots = grown
    this.next = this.len
    this.cap = newCap
  }
}
