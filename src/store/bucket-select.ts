import { selectRank, selectRanks } from './selection.js'

/**
 * Values at several ranks of a[0..n-1], with the min, max and sum, in one or two
 * linear passes: a radix pre-pass narrows each rank to a small bucket before any
 * selection runs.
 *
 * For positive doubles the IEEE-754 bit pattern orders like the value, so the top
 * 20 bits of the high word (sign, exponent, 8 mantissa bits) are an order-keeping
 * bucket key: 256 buckets per power of two. The store's values are integers in
 * 1..2^53-1, so their keys fit a fixed table of 53 × 256 buckets, and pass 1 needs
 * no min or max beforehand: it counts values per key and sums them. Prefix sums
 * then say which bucket holds each rank (min and max are ranks 0 and n-1) and at
 * which offset. Pass 2 gathers only the values of those few buckets, and
 * Floyd–Rivest finishes inside each. Two passes with no data-dependent swaps cost
 * far less than partitioning the whole array once per rank.
 *
 * A caller that reads the same data again (a dashboard polling a metric) passes
 * the buckets the last call found as a guess. Pass 1 then also gathers the values
 * of those buckets and one more on each side; every rank whose bucket is still
 * among them is finished from what pass 1 gathered, and pass 2 runs only for the
 * ranks that moved (or whose range held more values than pass 1 keeps). A rank
 * whose bucket alone holds more than that is not guessed next time. The guess
 * saves work, never changes a result: the counts still say exactly where each
 * rank is.
 *
 * When one target bucket holds more than half the values (a very narrow spread,
 * or a constant), the pre-pass bought nothing: plain selection over a[] instead.
 */
const KEY_SHIFT = 12
/** Below this, a plain selection is as fast as the passes. */
const MIN_VALUES = 1_024
/** The key is read from the high word of each double, which comes second on little-endian machines. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
/** Key of 1, the smallest value: bucket 0. */
const BASE_KEY = keyOf(1)
/** Buckets of values 1..2^53-1; buckets SPAN..SPAN+STEP-1 are sentinels that stop every walk. */
const SPAN = keyOf(2 ** 53) - BASE_KEY
const SENTINEL = 0xffff_ffff
/** Buckets the walk passes at a time before its last single steps. */
const STEP = 4
/** A guessed bucket is widened by this many buckets on each side. */
const GUESS_MARGIN = 1
/** Values pass 1 gathers per guessed range at most; a range that overflows is left to pass 2. */
const GUESS_CAPACITY = 1_024

interface ValuesSummary {
  min: number
  max: number
  sum: number
  /**
   * Where each rank was found, min and max included (-1: not worth guessing): the
   * guess for the next call on the same data. Undefined for n < 1,024.
   */
  buckets: Int32Array | undefined
}

/**
 * The radix tables and gather buffers of the passes, owned by one store (one
 * event loop): reused by every call, so a read allocates only its result. Every
 * call leaves COUNTS all zero and TARGET_SLOT all -1, through the one reset in
 * selectByBuckets' finally, whichever way it returns or throws.
 */
export class RankSelector {
  private readonly counts = new Uint32Array(SPAN + STEP).fill(SENTINEL, SPAN)
  /** Per bucket: the guessed range (pass 1) or target bucket (pass 2) that gathers it, or -1. */
  private readonly targetSlot = new Int32Array(SPAN).fill(-1)
  private gathered = new Float64Array(0)
  private gatheredByGuess = new Float64Array(0)

  /**
   * out[i] = the ranks[i]-th smallest of a[0..n-1] (ranks ascending, distinct, within
   * 0..n-1; n >= 1); returns the min, max and sum. Values are the store's: positive
   * and below 2^53 (outside that, the call takes the plain path: slower, still right). `guess`
   * is the `buckets` of an earlier call with as many ranks (it is then updated in
   * place and returned again); any other guess is ignored. May reorder a[].
   */
  summarize(a: Float64Array, n: number, ranks: readonly number[], out: number[], guess?: Int32Array): ValuesSummary {
    // Min and max are ranks 0 and n-1: found the same way as the others.
    const all = ranks.slice()
    if (all[0] !== 0) all.unshift(0)
    if (all[all.length - 1] !== n - 1) all.push(n - 1)
    const at: number[] = []
    let sum: number
    let buckets: Int32Array | undefined
    if (n < MIN_VALUES || !LITTLE_ENDIAN) sum = selectDirectly(a, n, all, at)
    else {
      buckets = guess !== undefined && guess.length === all.length ? guess : new Int32Array(all.length).fill(-1)
      sum = this.selectByBuckets(a, n, all, at, buckets)
    }
    const offset = all[0] === ranks[0] ? 0 : 1
    for (let i = 0; i < ranks.length; i++) out[i] = at[i + offset]
    return { min: at[0], max: at[all.length - 1], sum, buckets }
  }

  /**
   * summarize with the radix passes; ranks include 0 and n-1. `buckets` holds
   * a guess per rank (-1: none) and receives where each rank is. Returns the sum.
   * The passes are functions of their own: the first call that takes a new branch
   * (the first guess, the first miss) then deoptimizes only a small function, not
   * the loop over the values.
   */
  private selectByBuckets(a: Float64Array, n: number, ranks: readonly number[], out: number[], buckets: Int32Array): number {
    const words = new Uint32Array(a.buffer, a.byteOffset, n * 2)
    const counts = this.counts
    const targetSlot = this.targetSlot
    const ranges = guessedRanges(buckets)
    const rangeCount = ranges.length / 2
    // Counted buckets lie in [lowest, highest] once the walk has passed ranks 0 and
    // n-1; until then (a throw, a value outside the table) the whole table is reset.
    let lowest = 0
    let highest = SPAN - 1
    try {
      for (let g = 0; g < rangeCount; g++) targetSlot.fill(g, ranges[2 * g], ranges[2 * g + 1] + 1)
      if (this.gatheredByGuess.length < rangeCount * GUESS_CAPACITY) this.gatheredByGuess = new Float64Array(rangeCount * GUESS_CAPACITY)
      const filled = new Int32Array(rangeCount)
      const sum = countAndGather(a, words, n, counts, targetSlot, this.gatheredByGuess, filled)
      for (let g = 0; g < rangeCount; g++) targetSlot.fill(-1, ranges[2 * g], ranges[2 * g + 1] + 1)

      // Which bucket holds each rank, and where in it. Tight loops per rank over the
      // prefix sums, four buckets a step and then one at a time (about 0.5 ns a bucket;
      // the walk spans thousands of buckets, and a loop that also tested for ranks per
      // bucket cost as much as a pass over the values). The sentinels stop a walk that
      // runs past the last bucket: some value was outside 1..2^53-1 and was not counted.
      // A rank whose bucket lies in a guessed range that did not overflow is finished at
      // once; the others are left to pass 2, each target bucket gathered into its own segment.
      const missed: number[] = []
      const offsetIn: number[] = []
      const slotOf: number[] = []
      const slotBuckets: number[] = []
      let seen = 0
      let b = 0
      let firstBucket = -1
      for (let r = 0; r < ranks.length; r++) {
        const rank = ranks[r]
        for (;;) {
          const c4 = counts[b] + counts[b + 1] + counts[b + 2] + counts[b + 3]
          if (seen + c4 > rank) break
          seen += c4
          b += STEP
        }
        let c = counts[b]
        while (seen + c <= rank) {
          seen += c
          c = counts[++b]
        }
        if (firstBucket < 0) firstBucket = b
        if (c > n / 2) {
          // A heavy bucket, or a walk stopped by a sentinel (a value outside the table
          // was not counted): the pre-pass bought nothing.
          buckets.fill(-1)
          return selectDirectly(a, n, ranks, out)
        }
        buckets[r] = c > GUESS_CAPACITY ? -1 : b // such a bucket would overflow its range every time
        const g = rangeOf(ranges, b)
        if (g >= 0 && filled[g] <= GUESS_CAPACITY) {
          out[r] = valueInRange(counts, this.gatheredByGuess, ranges[2 * g], b, seen, rank, g * GUESS_CAPACITY, filled[g])
          continue
        }
        if (slotBuckets.length === 0 || slotBuckets[slotBuckets.length - 1] !== b) slotBuckets.push(b)
        missed.push(r)
        slotOf.push(slotBuckets.length - 1)
        offsetIn.push(rank - seen)
      }
      // Ranks 0 and n-1 were walked: every counted value lies between their buckets.
      lowest = firstBucket
      highest = b
      if (missed.length > 0) {
        const starts = this.gatherBuckets(a, words, n, slotBuckets)
        const gathered = this.gathered
        for (let m = 0; m < missed.length; m++) {
          const slot = slotOf[m]
          const left = starts[slot]
          const k = left + offsetIn[m]
          selectRank(gathered, k, left, left + counts[slotBuckets[slot]] - 1)
          out[missed[m]] = gathered[k]
        }
      }
      return sum
    } finally {
      // The one reset path: counts back to zero, sentinels back (a value above
      // 2^53-1 may have counted into one), no bucket marked for gathering.
      counts.fill(0, lowest, highest + 1)
      counts.fill(SENTINEL, SPAN)
      for (let g = 0; g < rangeCount; g++) targetSlot.fill(-1, ranges[2 * g], ranges[2 * g + 1] + 1)
    }
  }

  /**
   * Pass 2: gathers the values of the target buckets (ascending) into `gathered`,
   * each bucket into its own segment; returns where each segment starts.
   */
  private gatherBuckets(a: Float64Array, words: Uint32Array, n: number, targets: readonly number[]): number[] {
    const counts = this.counts
    const targetSlot = this.targetSlot
    const shift = KEY_SHIFT
    const base = BASE_KEY
    const starts: number[] = []
    let size = 0
    for (let t = 0; t < targets.length; t++) {
      starts.push(size)
      size += counts[targets[t]]
      targetSlot[targets[t]] = t
    }
    try {
      if (this.gathered.length < size) this.gathered = new Float64Array(Math.max(size, this.gathered.length * 2))
      const into = this.gathered
      const fill = starts.slice()
      for (let i = 0; i < n; i++) {
        const slot = targetSlot[(words[2 * i + 1] >>> shift) - base]
        if (slot >= 0) into[fill[slot]++] = a[i]
      }
    } finally {
      for (const t of targets) targetSlot[t] = -1
    }
    return starts
  }
}

/**
 * The guessed buckets widened by GUESS_MARGIN and merged where they touch, as
 * [lo0, hi0, lo1, hi1, ...]. Guesses from an earlier call ascend with the ranks;
 * any other is merged into the range before it or dropped (costing only speed).
 */
function guessedRanges(buckets: Int32Array): number[] {
  const ranges: number[] = []
  for (let r = 0; r < buckets.length; r++) {
    if (buckets[r] < 0) continue
    const lo = Math.max(0, buckets[r] - GUESS_MARGIN)
    const hi = Math.min(SPAN - 1, buckets[r] + GUESS_MARGIN)
    const last = ranges.length - 1
    if (ranges.length > 0 && lo <= ranges[last] + 1) ranges[last] = Math.max(ranges[last], hi)
    else ranges.push(lo, hi)
  }
  return ranges
}

/**
 * Pass 1: counts the values per bucket, sums them, and gathers the values of the
 * marked guessed ranges (filled[g] counts all that fell in range g, gathered or
 * not). Two sums (even and odd positions) halve the chain of dependent additions;
 * for integers whose sums stay below 2^53 the order of additions does not change
 * the result. A key outside the table reads undefined from targetSlot, which
 * gathers nothing.
 */
function countAndGather(
  a: Float64Array,
  words: Uint32Array,
  n: number,
  counts: Uint32Array,
  targetSlot: Int32Array,
  into: Float64Array,
  filled: Int32Array,
): number {
  // Module-level constants as locals: each use of a module binding costs a load and a
  // temporal-dead-zone check, which in these loops is measurable.
  const shift = KEY_SHIFT
  const base = BASE_KEY
  const capacity = GUESS_CAPACITY
  let even = 0
  let odd = 0
  let i = 0
  for (; i + 1 < n; i += 2) {
    const k0 = (words[2 * i + 1] >>> shift) - base
    const k1 = (words[2 * i + 3] >>> shift) - base
    counts[k0]++
    counts[k1]++
    even += a[i]
    odd += a[i + 1]
    const g0 = targetSlot[k0]
    const g1 = targetSlot[k1]
    // Both -1 (the common case) is the only way for the AND to be negative.
    if ((g0 & g1) >= 0) {
      if (g0 >= 0) {
        const f = filled[g0]++
        if (f < capacity) into[g0 * capacity + f] = a[i]
      }
      if (g1 >= 0) {
        const f = filled[g1]++
        if (f < capacity) into[g1 * capacity + f] = a[i + 1]
      }
    }
  }
  if (i < n) {
    const k = (words[2 * i + 1] >>> shift) - base
    counts[k]++
    even += a[i]
    const g = targetSlot[k]
    if (g >= 0) {
      const f = filled[g]++
      if (f < capacity) into[g * capacity + f] = a[i]
    }
  }
  return even + odd
}

/**
 * The rank-th smallest value, from the values of a guessed range [lo, ...] that
 * pass 1 gathered at gathered[left, left + size): `seen` values lie in the
 * buckets before b, which holds the rank.
 */
function valueInRange(counts: Uint32Array, gathered: Float64Array, lo: number, b: number, seen: number, rank: number, left: number, size: number): number {
  let below = seen
  for (let t = lo; t < b; t++) below -= counts[t]
  const k = left + rank - below
  selectRank(gathered, k, left, left + size - 1)
  return gathered[k]
}

/** Index of the range (in guessedRanges' form) holding bucket b, or -1. */
function rangeOf(ranges: readonly number[], b: number): number {
  for (let g = 0; 2 * g < ranges.length; g++) if (ranges[2 * g] <= b && b <= ranges[2 * g + 1]) return g
  return -1
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
