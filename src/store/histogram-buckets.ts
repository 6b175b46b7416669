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
 * Index of the bucket a value is counted in: the first bound >= value
 * (Prometheus `le` semantics), or bounds.length for the +Inf bucket.
 */
export function bucketIndex(bounds: Float64Array, value: number): number {
  let lo = 0
  let hi = bounds.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (bounds[mid] >= value) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** Checks that bounds are finite, positive and strictly ascending; returns an error or undefined. */
export function checkBucketBounds(bounds: readonly number[]): string | undefined {
  if (bounds.length === 0) return 'at least one bucket bound is required'
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i]
    if (!Number.isFinite(b) || b <= 0) return `bucket bound ${b} is not a positive finite number`
    if (i > 0 && b <= bounds[i - 1]) return `bucket bounds must be strictly ascending (${bounds[i - 1]} then ${b})`
  }
  return undefined
}
