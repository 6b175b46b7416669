import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { selectRank, selectRanks } from '../src/store/selection.js'
import { sortedCopy } from './reference.js'

/** -0 and 0 compare equal, so either may land at a rank; normalise to keep toEqual honest. */
const noNegZero = (v: number) => (Object.is(v, -0) ? 0 : v)

const valueArb = fc.oneof(
  fc.double({ noNaN: true }).map(noNegZero),
  fc.maxSafeNat(),
  fc.integer({ min: 1, max: 4 }), // many duplicates
)

type Shape = 'random' | 'sorted' | 'reversed' | 'constant'

function shaped(values: number[], shape: Shape): Float64Array {
  switch (shape) {
    case 'random':
      return Float64Array.from(values)
    case 'sorted':
      return Float64Array.from(sortedCopy(values))
    case 'reversed':
      return Float64Array.from(sortedCopy(values).reverse())
    case 'constant':
      return new Float64Array(values.length).fill(values[0])
  }
}

const shapeArb = fc.constantFrom<Shape>('random', 'sorted', 'reversed', 'constant')

/** An array of the given size range plus an ascending list of ranks within it (duplicates allowed). */
function caseArb(minLength: number, maxLength: number) {
  return fc.tuple(fc.array(valueArb, { minLength, maxLength, size: 'max' }), shapeArb).chain(([values, shape]) =>
    fc.record({
      a: fc.constant(shaped(values, shape)),
      ranks: fc.array(fc.nat(values.length - 1), { minLength: 1, maxLength: 12 }).map((r) => r.sort((x, y) => x - y)),
    }),
  )
}

function checkSelectRanks(a: Float64Array, ranks: number[]): void {
  const sorted = sortedCopy(a)
  const work = Float64Array.from(a)
  selectRanks(work, work.length, ranks)
  for (const r of ranks) expect(work[r]).toBe(sorted[r])
  // The array is only reordered: the same multiset of values remains.
  expect(sortedCopy(work)).toEqual(sorted)
}

describe('selectRanks', () => {
  it('puts the sorted value at every requested rank (sizes 1..200)', () => {
    fc.assert(
      fc.property(caseArb(1, 200), ({ a, ranks }) => checkSelectRanks(a, ranks)),
      { numRuns: 300 },
    )
  })

  it('puts the sorted value at every requested rank (sizes 601..5000, Floyd–Rivest sampling)', () => {
    fc.assert(
      fc.property(caseArb(601, 5000), ({ a, ranks }) => checkSelectRanks(a, ranks)),
      { numRuns: 25 },
    )
  })

  it('handles the extreme ranks 0 and n-1 together with the built-in percentiles', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { minLength: 1, maxLength: 3000, size: 'max' }), shapeArb, (values, shape) => {
        const n = values.length
        const ranks = [...new Set([0, (n / 2) | 0, Math.floor(n * 0.95), Math.floor(n * 0.99), n - 1])].filter((r) => r < n).sort((x, y) => x - y)
        checkSelectRanks(shaped(values, shape), ranks)
      }),
      { numRuns: 30 },
    )
  })

  it('only touches a[0..n-1] when n is smaller than the array', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { minLength: 2, maxLength: 1500, size: 'max' }), fc.nat(), (values, pick) => {
        const n = 1 + (pick % (values.length - 1))
        const a = Float64Array.from(values)
        const ranks = [0, n >> 1, n - 1].filter((r, i, all) => all.indexOf(r) === i)
        const sorted = sortedCopy(values.slice(0, n))
        selectRanks(a, n, ranks)
        for (const r of ranks) expect(a[r]).toBe(sorted[r])
        expect(Array.from(a.subarray(n))).toEqual(values.slice(n))
      }),
      { numRuns: 50 },
    )
  })
})

describe('selectRank', () => {
  it('places the k-th smallest at k with a partitioned range around it', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(fc.array(valueArb, { minLength: 1, maxLength: 2500, size: 'max' }), shapeArb)
          .chain(([values, shape]) => fc.record({ a: fc.constant(shaped(values, shape)), k: fc.nat(values.length - 1) })),
        ({ a, k }) => {
          const sorted = sortedCopy(a)
          const work = Float64Array.from(a)
          selectRank(work, k, 0, work.length - 1)
          expect(work[k]).toBe(sorted[k])
          const misplaced = Array.from(work).findIndex((v, i) => (i < k ? v > work[k] : i > k ? v < work[k] : false))
          expect(misplaced).toBe(-1)
          expect(sortedCopy(work)).toEqual(sorted)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('selects within a sub-range [left, right] and leaves the rest alone', () => {
    fc.assert(
      fc.property(
        fc.array(valueArb, { minLength: 1, maxLength: 2000, size: 'max' }).chain((values) =>
          fc
            .tuple(fc.nat(values.length - 1), fc.nat(values.length - 1))
            .map(([x, y]) => [Math.min(x, y), Math.max(x, y)] as const)
            .chain(([left, right]) =>
              fc.record({
                values: fc.constant(values),
                left: fc.constant(left),
                right: fc.constant(right),
                k: fc.integer({ min: left, max: right }),
              }),
            ),
        ),
        ({ values, left, right, k }) => {
          const work = Float64Array.from(values)
          const sortedRange = sortedCopy(values.slice(left, right + 1))
          selectRank(work, k, left, right)
          expect(work[k]).toBe(sortedRange[k - left])
          expect(Array.from(work.subarray(0, left))).toEqual(values.slice(0, left))
          expect(Array.from(work.subarray(right + 1))).toEqual(values.slice(right + 1))
        },
      ),
      { numRuns: 100 },
    )
  })
})
