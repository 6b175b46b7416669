// The baseline's storage: a plain JS array of values per id, capped at `cap` by
// overwriting the oldest (so it holds what the service's ring holds, without timestamps).
export class PlainSeries {
  constructor(cap) {
    this.cap = cap
    this.values = []
    this.next = 0
  }

  push(v) {
    if (this.values.length < this.cap) this.values.push(v)
    else {
      this.values[this.next] = v
      this.next = this.next + 1 === this.cap ? 0 : this.next + 1
    }
  }
}

/**
 * The obvious snapshot: copy the values, sort, read nearest ranks. Sorting a
 * Float64Array (numeric order, no comparator) is the faster of the obvious choices.
 */
export function naiveSnapshot(id, values) {
  const n = values.length
  if (n === 0) return { id, count: 0, min_ns: null, max_ns: null, mean_ns: null, p50_ns: null, p95_ns: null, p99_ns: null }
  const a = Float64Array.from(values)
  a.sort()
  let sum = 0
  for (let i = 0; i < n; i++) sum += a[i]
  // Nearest rank ceil(q·n) with q = percent/100, computed from integers so 0.95·n is exact.
  const rank = (percent) => a[Math.max(0, Math.ceil((percent * n) / 100) - 1)]
  return { id, count: n, min_ns: a[0], max_ns: a[n - 1], mean_ns: sum / n, p50_ns: rank(50), p95_ns: rank(95), p99_ns: rank(99) }
}
