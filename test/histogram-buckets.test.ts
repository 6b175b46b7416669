import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BucketIndex, DEFAULT_BUCKET_BOUNDS_NS } from '../src/store/histogram-buckets.js'
import { refBucketIndex } from './reference.js'

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
        }
      }),
      { numRuns: 300 },
    )
  })
})
