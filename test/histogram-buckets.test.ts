import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BucketIndex, DEFAULT_BUCKET_BOUNDS_NS } from '../src/store/histogram-buckets.js'
import { refBucketIndex } from './reference.js'

/** The smallest double whose top 16 bits (sign, exponent, 4 mantissa bits) are those of x. */
function cellStart(x: number): number {
  const f = new Float64Array([x])
  const w = new Uint32Array(f.buffer)
  w[0] = 0
  w[1] &= 0xffff0000
  return f[0]
}

/** The largest double below x > 0. */
function nextDown(x: number): number {
  const f = new Float64Array([x])
  new BigUint64Array(f.buffer)[0] -= 1n
  return f[0]
}

describe('BucketIndex', () => {
  it('default bounds run from 1 µs to 60 s, ascending', () => {
    expect(DEFAULT_BUCKET_BOUNDS_NS[0]).toBe(1e3)
    expect(DEFAULT_BUCKET_BOUNDS_NS.at(-1)).toBe(6e10)
    for (let i = 1; i < DEFAULT_BUCKET_BOUNDS_NS.length; i++) {
      expect(DEFAULT_BUCKET_BOUNDS_NS[i]).toBeGreaterThan(DEFAULT_BUCKET_BOUNDS_NS[i - 1])
    }
  })

  it('puts a value equal to a bound in that bound’s bucket (le), and the next value up in the next', () => {
    const index = new BucketIndex(DEFAULT_BUCKET_BOUNDS_NS)
    DEFAULT_BUCKET_BOUNDS_NS.forEach((bound, i) => {
      expect(index.of(bound)).toBe(i)
      expect(index.of(bound + 1)).toBe(i + 1)
      if (bound > 1) expect(index.of(bound - 1)).toBe(i)
    })
    expect(index.of(1)).toBe(0)
    expect(index.of(Number.MAX_SAFE_INTEGER)).toBe(DEFAULT_BUCKET_BOUNDS_NS.length)
  })

  it('agrees with a linear scan for any ascending bounds and any value (property)', () => {
    const bounds = fc
      .uniqueArray(fc.double({ min: 1e-3, max: 1e16, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 60 })
      .map((b) => b.sort((x, y) => x - y))
    const value = fc.oneof(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 1, max: 5_000 }),
      fc.constantFrom(1, 2, 1024, 2 ** 52, 2 ** 53 - 1),
    )
    fc.assert(
      fc.property(bounds, fc.array(value, { minLength: 1, maxLength: 50 }), (b, values) => {
        const index = new BucketIndex(b)
        for (const v of values) expect(index.of(v)).toBe(refBucketIndex(b, v))
        // Values sitting exactly on the bounds (and powers of two near them) are the edges that matter.
        for (const bound of b) {
          expect(index.of(bound)).toBe(refBucketIndex(b, bound))
          const p2 = 2 ** Math.floor(Math.log2(bound))
          expect(index.of(p2)).toBe(refBucketIndex(b, p2))
          // The lookup table's cells are 1/16 of a power of two: their first values, and the doubles just below.
          const start = cellStart(bound)
          for (const edge of [start, nextDown(start), cellStart(start * 1.0625), nextDown(cellStart(start * 1.0625))]) {
            expect(index.of(edge)).toBe(refBucketIndex(b, edge))
          }
        }
      }),
      { numRuns: 300 },
    )
  })
})
