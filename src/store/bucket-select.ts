import { selectRank, selectRanks } from './selection.js'

/**
 * Values at several ranks of a[0..n-1], with the min, max and sum, in two linear
 * passes: a radix pre-pass narrows each rank to a small bucket before any
 * selection runs.
 *
 * For positive doubles the IEEE-754 bit pattern orders like the value, so the top
 * 20 bits of the high word (sign, exponent, 8 mantissa bits) are an order-keeping
 * bucket key: 256 buckets per power of two. The store's values are integers in
 * 1..2^53-1, so their keys fit a fixed table of 53 × 256 buckets, and pass 1 needs
 * no min or max beforehand: it counts values per key and sums them, nothing else.
 * Prefix sums then say which bucket holds each rank (min and max are ranks 0 and
 * n-1) and at which offset. Pass 2 gathers only the values of those few buckets,
 * and Floyd–Rivest finishes inside each. Two passes with no data-dependent swaps
 * cost far less than partitioning the whole array once per rank.
 *
 * When one target bucket holds more than half the values (a very narrow spread,
 * or a constant), the pre-pass bought nothing: plain selection over a[] instead.
 */
const KEY_SHIFT = 12
/** Below this, a plain selection is as fast as the two passes. */
const MIN_VALUES = 1_024
/** The key is read from the high word of each double, which comes second on little-endian machines. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
/** Key of 1, the smallest value: bucket 0. */
const BASE_KEY = keyOf(1)
/** Buckets of values 1..2^53-1; bucket SPAN is a sentinel that stops every walk. */
const SPAN = keyOf(2 ** 53) - BASE_KEY
const SENTINEL = 0xffff_ffff

const COUNTS = new Uint32Array(SPAN + 1)
COUNTS[SPAN] = SENTINEL
const TARGET_SLOT = new Int32Array(SPAN).fill(-1)
let gathered = new Float64Array(0)

export interface ValuesSummary {
  min: number
  max: number
  sum: number
}

/**
 * out[i] = the ranks[i]-th smallest of a[0..n-1] (ranks ascending, distinct, within
 * 0..n-1; n >= 1); returns the min, max and sum. Values must be integers in
 * 1..2^53-1 (anything else takes the plain path, slower but still right).
 * May reorder a[].
 */
export function summarizeValues(a: Float64Array, n: number, ranks: readonly number[], out: number[]): ValuesSummary {
  // Min and max are ranks 0 and n-1: found the same way as the others.
  const all = ranks.slice()
  if (all[0] !== 0) all.unshift(0)
  if (all[all.length - 1] !== n - 1) all.push(n - 1)
  const at: number[] = []
  const sum = n < MIN_VALUES || !LITTLE_ENDIAN ? selectDirectly(a, n, all, at) : selectByBuckets(a, n, all, at)
  const shift = all[0] === ranks[0] ? 0 : 1
  for (let i = 0; i < ranks.length; i++) out[i] = at[i + shift]
  return { min: at[0], max: at[all.length - 1], sum }
}

/** summarizeValues with the radix pre-pass; ranks include 0 and n-1. Returns the sum. */
function selectByBuckets(a: Float64Array, n: number, ranks: readonly number[], out: number[]): number {
  const words = new Uint32Array(a.buffer, a.byteOffset, n * 2)
  // Module-level tables as locals: each use of a module binding costs a load and a
  // temporal-dead-zone check, which in these loops is measurable.
  const counts = COUNTS
  const targetSlot = TARGET_SLOT
  const shift = KEY_SHIFT
  const base = BASE_KEY

  // Pass 1: how many values fall in each bucket, and their sum. Two sums (even and
  // odd positions) halve the chain of dependent additions; for integers whose sums
  // stay below 2^53 the order of additions does not change the result.
  let even = 0
  let odd = 0
  let i = 0
  for (; i + 1 < n; i += 2) {
    counts[(words[2 * i + 1] >>> shift) - base]++
    counts[(words[2 * i + 3] >>> shift) - base]++
    even += a[i]
    odd += a[i + 1]
  }
  if (i < n) {
    counts[(words[2 * i + 1] >>> shift) - base]++
    even += a[i]
  }
  const sum = even + odd
  // A value above 2^53-1 may have counted into the sentinel: put it back.
  counts[SPAN] = SENTINEL

  // Which bucket holds each rank, and where in it.
  const bucketOf: number[] = []
  const offsetIn: number[] = []
  const slotStart: number[] = []
  const slotBuckets: number[] = []
  // One tight loop per rank over the prefix sums (about 1 ns a bucket; the walk
  // spans thousands of buckets, and a loop that also tested for ranks per bucket
  // cost as much as a pass over the values). The sentinel stops a walk that runs
  // past the last bucket: some value was outside 1..2^53-1 and was not counted.
  let seen = 0
  let b = 0
  let firstBucket = -1
  for (let r = 0; r < ranks.length; r++) {
    const rank = ranks[r]
    let c = counts[b]
    while (seen + c <= rank) {
      seen += c
      c = counts[++b]
    }
    if (firstBucket < 0) firstBucket = b
    if (c > n / 2) {
      // Leave the shared tables clean for the next call before giving up.
      for (const t of slotBuckets) targetSlot[t] = -1
      counts.fill(0, 0, SPAN)
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
  for (const t of slotBuckets) targetSlot[t] = -1

  for (let i = 0; i < ranks.length; i++) {
    const slot = bucketOf[i]
    const left = slotStart[slot]
    const k = left + offsetIn[i]
    selectRank(into, k, left, left + counts[slotBuckets[slot]] - 1)
    out[i] = into[k]
  }
  // Ranks 0 and n-1 were walked: every counted value lies between their buckets.
  counts.fill(0, firstBucket, b + 1)
  return sum
}

/** Plain selection of every rank, and a sum; returns the sum. */
function selectDirectly(a: Float64Array, n: number, ranks: readonly number[], out: number[]): number {
  let sum = 0
  for (let i = 0; i < n; i++) sum += a[i]
  selectRanks(a, n, ranks)
  for (let i = 0; i < ranks.length; i++) out[i] = a[ranks[i]]
  return sum
}

/** Bucket key of a positive double: the top 20 bits of its high word (little-endian). */
function keyOf(value: number): number {
  const view = new Float64Array([value])
  return new Uint32Array(view.buffer)[1] >>> KEY_SHIFT
}
