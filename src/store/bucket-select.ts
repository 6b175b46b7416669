import { selectRank, selectRanks } from './selection.js'

/**
 * Values at several ranks of a[0..n-1], for n large enough that it pays: a radix
 * pre-pass narrows each rank to a small bucket before any selection runs.
 *
 * For positive doubles the IEEE-754 bit pattern orders like the value, so the top
 * 20 bits of the high word (sign, exponent, 8 mantissa bits) are an order-keeping
 * bucket key: 256 buckets per power of two. Pass 1 counts values per key; prefix
 * sums then say which bucket holds each rank and at which offset. Pass 2 gathers
 * only the values of those few buckets, and Floyd–Rivest finishes inside each.
 * Two linear passes with no data-dependent swaps cost far less than partitioning
 * the whole array once per rank.
 *
 * When one target bucket holds more than half the values (a very narrow spread,
 * or a constant), the pre-pass bought nothing: plain selection over a[] instead.
 */
const KEY_SHIFT = 12
/** Below this, a plain selection is as fast as the two passes. */
const MIN_VALUES = 1_024
/** The key is read from the high word of each double, which comes second on little-endian machines. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
/** Largest key span handled: ranks over values 1..2^53 span at most 54 × 256 keys. */
const MAX_SPAN = 1 << 16

const COUNTS = new Uint32Array(MAX_SPAN)
const TARGET_SLOT = new Int32Array(MAX_SPAN).fill(-1)
let gathered = new Float64Array(0)

/**
 * out[i] = the ranks[i]-th smallest of a[0..n-1] (ranks ascending, distinct,
 * within 0..n-1). Values must be positive finite numbers; min and max are theirs.
 * May reorder a[].
 */
export function valuesAtRanks(
  a: Float64Array,
  n: number,
  ranks: readonly number[],
  min: number,
  max: number,
  out: number[],
): void {
  if (n < MIN_VALUES || !LITTLE_ENDIAN) return selectDirectly(a, n, ranks, out)
  const base = keyOf(min)
  const span = keyOf(max) - base + 1
  if (span > MAX_SPAN) return selectDirectly(a, n, ranks, out)
  const words = new Uint32Array(a.buffer, a.byteOffset, n * 2)
  // Module-level tables as locals: each use of a module binding costs a load and a
  // temporal-dead-zone check, which in these loops is measurable.
  const counts = COUNTS
  const targetSlot = TARGET_SLOT
  const shift = KEY_SHIFT

  // Pass 1: how many values fall in each bucket.
  counts.fill(0, 0, span)
  for (let i = 1; i < 2 * n; i += 2) counts[(words[i] >>> shift) - base]++

  // Which bucket holds each rank, and where in it.
  const bucketOf: number[] = []
  const offsetIn: number[] = []
  const slotStart: number[] = []
  const slotBuckets: number[] = []
  // One tight loop per rank over the prefix sums (about 1 ns a bucket; the walk
  // spans thousands of buckets, and a loop that also tested for ranks per bucket
  // cost as much as a pass over the values).
  let seen = 0
  let b = 0
  for (let r = 0; r < ranks.length; r++) {
    const rank = ranks[r]
    let c = counts[b]
    while (seen + c <= rank) {
      seen += c
      c = counts[++b]
    }
    if (c > n / 2) {
      // Leave the shared marks clean for the next call before giving up.
      for (const t of slotBuckets) targetSlot[t] = -1
      return selectDirectly(a, n, ranks, out)
    }
    if (slotBuckets.length === 0 || slotBuckets[slotBuckets.length - 1] !== b) {
      slotStart.push(slotBuckets.length === 0 ? 0 : slotStart[slotStart.length - 1] + counts[slotBuckets[slotBuckets.length - 1]])
      slotBuckets.push(b)
      targetSlot[b] = slotBuckets.length - 1
    }
    bucketOf.push(slotBuckets.length - 1)
    offsetIn.push(rank - seen)
  }

  // Pass 2: gather the values of the target buckets, each into its own segment.
  const lastSlot = slotBuckets.length - 1
  const size = slotStart[lastSlot] + counts[slotBuckets[lastSlot]]
  if (gathered.length < size) gathered = new Float64Array(Math.max(size, gathered.length * 2))
  const into = gathered
  const fill = slotStart.slice()
  for (let i = 0; i < n; i++) {
    const slot = targetSlot[(words[2 * i + 1] >>> shift) - base]
    if (slot >= 0) into[fill[slot]++] = a[i]
  }
  for (const b of slotBuckets) targetSlot[b] = -1

  for (let i = 0; i < ranks.length; i++) {
    const slot = bucketOf[i]
    const left = slotStart[slot]
    const k = left + offsetIn[i]
    selectRank(into, k, left, left + counts[slotBuckets[slot]] - 1)
    out[i] = into[k]
  }
}

function selectDirectly(a: Float64Array, n: number, ranks: readonly number[], out: number[]): void {
  selectRanks(a, n, ranks)
  for (let i = 0; i < ranks.length; i++) out[i] = a[ranks[i]]
}

const keyView = new Float64Array(1)
const keyWords = new Uint32Array(keyView.buffer)

/** Bucket key of a positive double: the top 20 bits of its high word (little-endian). */
function keyOf(value: number): number {
  keyView[0] = value
  return keyWords[1] >>> KEY_SHIFT
}
