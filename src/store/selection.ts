/**
 * Order statistics without a full sort: Floyd–Rivest selection, applied to several
 * ranks at once by selecting the middle rank first and recursing into the two
 * sides with the ranks that fall there (each side is already partitioned).
 * Expected cost is O(n) per rank with small constants; the array is reordered.
 */

/**
 * Rearranges a[left..right] so that a[k] holds the value it would have if the range
 * were sorted, everything before it is <= a[k] and everything after is >= a[k].
 */
export function selectRank(a: Float64Array, k: number, left: number, right: number): void {
  while (right > left) {
    if (right - left > 600) {
      // Floyd–Rivest: recurse on a sample to pick pivots that bracket k tightly.
      const n = right - left + 1
      const m = k - left + 1
      const z = Math.log(n)
      const s = 0.5 * Math.exp((2 * z) / 3)
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1)
      const newLeft = Math.max(left, Math.floor(k - (m * s) / n + sd))
      const newRight = Math.min(right, Math.floor(k + ((n - m) * s) / n + sd))
      selectRank(a, k, newLeft, newRight)
    }
    const t = a[k]
    let i = left
    let j = right
    swap(a, left, k)
    if (a[right] > t) swap(a, left, right)
    while (i < j) {
      swap(a, i, j)
      i++
      j--
      while (a[i] < t) i++
      while (a[j] > t) j--
    }
    if (a[left] === t) swap(a, left, j)
    else {
      j++
      swap(a, j, right)
    }
    if (j <= k) left = j + 1
    if (k <= j) right = j - 1
  }
}

/**
 * Selects every rank in `ranks` (ascending, each within 0..n-1) in a[0..n-1].
 * Afterwards a[r] is the r-th smallest value for every requested r.
 */
export function selectRanks(a: Float64Array, n: number, ranks: ArrayLike<number>): void {
  selectSpan(a, ranks, 0, ranks.length - 1, 0, n - 1)
}

function selectSpan(a: Float64Array, ranks: ArrayLike<number>, lo: number, hi: number, left: number, right: number): void {
  if (lo > hi || left > right) return
  const mid = (lo + hi) >>> 1
  const k = ranks[mid]
  selectRank(a, k, left, right)
  // Equal ranks next to mid are already in place; skip them.
  let l = mid - 1
  while (l >= lo && ranks[l] === k) l--
  let h = mid + 1
  while (h <= hi && ranks[h] === k) h++
  selectSpan(a, ranks, lo, l, left, k - 1)
  selectSpan(a, ranks, h, hi, k + 1, right)
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]
  a[i] = a[j]
  a[j] = t
}
