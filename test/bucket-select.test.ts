import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RankSelector } from '../src/store/bucket-select.js'
import { closeToMean, exactSum, refMax, refMin, sortedCopy } from './reference.js'

/** One selector for the whole file, as a store keeps one: each call must leave it clean for the next. */
const selector = new RankSelector()

/** Runs RankSelector.summarize on a copy and compares every rank, min, max and sum with the reference. */
function check(values: number[], ranksWanted: number[]) {
  const n = values.length
  const ranks = [...new Set(ranksWanted.map((r) => Math.min(n - 1, Math.max(0, r))))].sort((a, b) => a - b)
  const a = Float64Array.from(values)
  const out: number[] = []
  const summary = selector.summarize(a, n, ranks, out)
  const sorted = sortedCopy(values)
  expect(out).toEqual(ranks.map((r) => sorted[r]))
  expect(summary.min).toBe(refMin(values))
  expect(summary.max).toBe(refMax(values))
  // Exact while the partial sums stay below 2^53; past that, within the error of a double summation.
  const want = Number(exactSum(values))
  if (want <= Number.MAX_SAFE_INTEGER) expect(summary.sum).toBe(want)
  else expect(closeToMean(summary.sum / n, want / n, n)).toBe(true)
}

const ranksFor = (n: number) => fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: 8 })

describe('RankSelector.summarize (radix pre-pass, then selection within buckets)', () => {
  it('matches a sorted copy on wide, log-spread integers (property)', () => {
    const values = fc.array(
      fc.oneof(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 5_000 })),
      { minLength: 1_024, maxLength: 6_000 },
    )
    fc.assert(
      fc.property(
        values.chain((v) => fc.tuple(fc.constant(v), ranksFor(v.length))),
        ([v, r]) => check(v, r),
      ),
      {
        numRuns: 60,
      },
    )
  })

  it('matches on narrow spreads and heavy duplicates, where one bucket holds most values (property)', () => {
    const values = fc
      .tuple(fc.integer({ min: 1, max: 1e12 }), fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 1_024, max: 5_000 }))
      .chain(([base, spread, n]) => fc.array(fc.integer({ min: base, max: base + spread }), { minLength: n, maxLength: n }))
    fc.assert(
      fc.property(
        values.chain((v) => fc.tuple(fc.constant(v), ranksFor(v.length))),
        ([v, r]) => check(v, r),
      ),
      {
        numRuns: 60,
      },
    )
  })

  it('matches below the size where the pre-pass is used, and at its edge', () => {
    for (const n of [1, 2, 3, 1_023, 1_024, 1_025]) {
      const values = Array.from({ length: n }, (_, i) => ((i * 7_919) % 1_000_003) + 1)
      check(values, [0, Math.floor(n / 2), n - 1])
    }
  })

  it('handles a constant array, the extremes 1 and 2^53−1, and p50/p95/p99 of 10,000 samples', () => {
    check(new Array(5_000).fill(42), [0, 2_500, 4_999])
    const extremes = Array.from({ length: 4_000 }, (_, i) => (i % 2 === 0 ? 1 : Number.MAX_SAFE_INTEGER))
    check(extremes, [0, 1_999, 2_000, 3_999])
    const latencies = Array.from({ length: 10_000 }, (_, i) => Math.round(10 ** (4 + 5 * (((i * 2_654_435_761) % 2 ** 32) / 2 ** 32))))
    check(latencies, [4_999, 9_499, 9_899])
  })
})

describe('RankSelector.summarize after a call that gave up on a heavy bucket', () => {
  it('a call that marked a bucket and then fell back leaves nothing behind for the next call', () => {
    // 10% spread wide, 90% one value: rank 1% lands in a light bucket (marked),
    // rank 50% in the heavy one (fallback). The next call must not see the mark.
    const n = 5_000
    const heavy = Array.from({ length: n }, (_, i) => (i < n / 10 ? 1 + ((i * 7_919) % 100_000) : 5_000_000))
    check(heavy, [Math.floor(n * 0.01), Math.floor(n / 2)])
    // The same light values again, now spread over the whole array: the bucket the
    // first call marked holds values here too.
    const wide = Array.from({ length: n }, (_, i) => 1 + ((i * 7_919) % 100_000))
    check(wide, [0, 49, 2_500, 4_999])
    check(heavy, [Math.floor(n * 0.01), Math.floor(n / 2)])
    check(wide, [10, 100, 4_000])
  })
})

describe('RankSelector.summarize on values outside 1..2^53-1', () => {
  it('takes the plain path and stays right, and leaves the tables clean for the next call', () => {
    const n = 3_000
    const wide = Array.from({ length: n }, (_, i) => 1 + ((i * 7_919) % 1_000_000))
    // 2^53 itself keys into the sentinel bucket; 0 keys below bucket 0; 2^60 past the table.
    for (const outsider of [2 ** 53, 2 ** 53 + 2 ** 44, 2 ** 60, 0]) {
      const values = wide.slice()
      values[1_234] = outsider
      check(values, [0, 1_500, 2_970, n - 1])
      check(wide, [0, 1_500, 2_970, n - 1])
    }
  })
})

describe('RankSelector.summarize with the guess from an earlier call', () => {
  /** check(), passing `guess` and returning the buckets for the next call. */
  function checkWithGuess(values: number[], ranks: number[], guess: Int32Array | undefined): Int32Array | undefined {
    const a = Float64Array.from(values)
    const out: number[] = []
    const summary = selector.summarize(a, values.length, ranks, out, guess)
    const sorted = sortedCopy(values)
    expect(out).toEqual(ranks.map((r) => sorted[r]))
    expect(summary.min).toBe(sorted[0])
    expect(summary.max).toBe(sorted[sorted.length - 1])
    return summary.buckets
  }

  const quantileRanks = (n: number) => [...new Set([0.5, 0.95, 0.99].map((q) => Math.ceil(q * n) - 1))]

  it('stays right while the data drifts, jumps and narrows between calls (property)', () => {
    // Each step replaces part of the values: a few with the same spread (the guess
    // mostly holds), many with another spread (the ranks move), or all with a narrow
    // one (a guessed range overflows its capacity).
    const step = fc.record({
      replace: fc.integer({ min: 0, max: 100 }),
      low: fc.integer({ min: 1, max: 1e9 }),
      width: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 1e12 })),
      seed: fc.integer(),
    })
    fc.assert(
      fc.property(fc.integer({ min: 1_024, max: 4_000 }), fc.array(step, { minLength: 1, maxLength: 6 }), (n, steps) => {
        let values = Array.from({ length: n }, (_, i) => 1 + ((i * 2_654_435_761) % 1e9))
        let guess = checkWithGuess(values, quantileRanks(n), undefined)
        for (const s of steps) {
          const count = Math.floor((n * s.replace) / 100)
          values = values.map((v, i) => (i < count ? s.low + (Math.abs(s.seed ^ (i * 7_919)) % (s.width + 1)) : v))
          guess = checkWithGuess(values, quantileRanks(n), guess)
        }
      }),
      { numRuns: 80 },
    )
  })

  it('gives up on a guessed range with more values than it gathers, and still finds the rank', () => {
    // 40% of the values in three adjacent buckets of 800 (2^29 + 0, 1 or 2 bucket
    // widths), in the middle of the spread: the median lands there, and its guessed
    // range (its bucket and one each side) holds 2,400 values, more than pass 1 keeps.
    const n = 6_000
    const width = 2 ** 29 / 256
    const values = Array.from({ length: n }, (_, i) => (i % 5 < 2 ? 2 ** 29 + (i % 3) * width : 1 + ((i * 2_654_435_761) % 1e9)))
    const ranks = quantileRanks(n)
    const guess = checkWithGuess(values, ranks, undefined)
    expect(checkWithGuess(values, ranks, guess)).toBe(guess)
  })

  it('does not guess a bucket that alone holds more values than pass 1 keeps', () => {
    const n = 6_000
    const values = Array.from({ length: n }, (_, i) => (i % 5 < 2 ? 2 ** 29 : 1 + ((i * 2_654_435_761) % 1e9)))
    const ranks = quantileRanks(n)
    const guess = checkWithGuess(values, ranks, undefined)
    // Min, p50, p95, p99, max: the median's bucket holds 2,400 values.
    expect(Array.from(guess ?? []).map((b) => b >= 0)).toEqual([true, false, true, true, true])
  })

  it('ignores a guess made for another number of ranks, and one from unrelated data', () => {
    const n = 3_000
    const spread = Array.from({ length: n }, (_, i) => 1 + ((i * 7_919) % 1e6))
    const other = Array.from({ length: n }, (_, i) => 1e12 + ((i * 104_729) % 1e9))
    const fromSpread = checkWithGuess(spread, quantileRanks(n), undefined)
    checkWithGuess(spread, [1, 2, 3, 1_500, 2_999], fromSpread)
    checkWithGuess(other, quantileRanks(n), fromSpread)
    checkWithGuess(spread, quantileRanks(n), fromSpread)
  })
})
