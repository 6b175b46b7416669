/**
 * Fixed upper bounds (in nanoseconds) of the cumulative latency histogram that is
 * counted at write time. Fixed bounds are what let Prometheus sum the buckets of
 * several instances before taking histogram_quantile.
 */

/** 1, 2.5, 5 per decade from 1 µs to 50 s, then 60 s. */
export const DEFAULT_BUCKET_BOUNDS_NS: readonly number[] = Object.freeze([
  ...[1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10].flatMap((decade) => [decade, 2.5 * decade, 5 * decade]),
  6e10,
])

/**
 * Finds the bucket a value is counted in: the first bound >= value (Prometheus
 * `le` semantics), or bounds.length for +Inf. A binary search costs a
 * mispredicted branch per level on random latencies; instead, a table indexed by
 * the value's binary exponent (read from its IEEE-754 bits) gives the first
 * bucket that can hold any value of that power of two, and a short forward scan
 * finishes (one step or two for log-spaced bounds).
 */
export class BucketIndex {
  readonly bounds: Float64Array
  /** By biased exponent e: the first bucket whose bound >= 2^(e-1023). */
  private readonly firstByExponent = new Uint8Array(2048)
  private readonly f64 = new Float64Array(1)
  private readonly hi32 = new Uint32Array(this.f64.buffer, 4, 1)

  constructor(bounds: ArrayLike<number>) {
    if (bounds.length > 254) throw new RangeError('at most 254 bucket bounds')
    this.bounds = Float64Array.from(bounds)
    let i = 0
    for (let e = 0; e < 2048; e++) {
      const low = 2 ** (e - 1023)
      while (i < this.bounds.length && this.bounds[i] < low) i++
      this.firstByExponent[e] = i
    }
  }

  /** For a positive finite value. */
  of(value: number): number {
    this.f64[0] = value
    let i = this.firstByExponent[this.hi32[0] >>> 20]
    const bounds = this.bounds
    while (i < bounds.length && bounds[i] < value) i++
    return i
  }
}
