import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Quantile, nearestRankIndex, parseQuantile, quantile } from '../src/store/quantile.js'
import { decimalFraction, isValidQuantileText, nearestRankIndexRef } from './reference.js'

function parsed(text: string): Quantile {
  const q = parseQuantile(text)
  if (typeof q === 'string') throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${q}`)
  return q
}

describe('parseQuantile', () => {
  it.each(['0.5', '1', '1.0', '.5', '0.999', '0.07', '1.000', '0.' + '0'.repeat(29) + '1'])(
    'accepts %j with its exact fraction and the text as key',
    (text) => {
      const q = parsed(text)
      const { num, den } = decimalFraction(text)
      expect(q.key).toBe(text)
      expect(q.value).toBe(Number(text))
      // Same rational number (the implementation may or may not reduce the fraction).
      expect(q.num * den).toBe(num * q.den)
      expect(q.den > 0n).toBe(true)
    },
  )

  it.each([
    ['', /not a decimal/],
    ['0', /out of range/],
    ['0.0', /out of range/],
    ['.0', /out of range/],
    ['1.01', /out of range/],
    ['1.0000000001', /out of range/],
    ['2', /out of range/],
    ['-0.5', /not a decimal/],
    ['abc', /not a decimal/],
    ['1e-3', /not a decimal/],
    [' 0.5', /not a decimal/],
    ['0.5 ', /not a decimal/],
    ['NaN', /not a decimal/],
    ['Infinity', /not a decimal/],
    ['0x1', /not a decimal/],
    ['1.', /not a decimal/],
    ['.', /not a decimal/],
    ['0.5.1', /not a decimal/],
    ['+0.5', /not a decimal/],
    ['０.５', /not a decimal/], // full-width digits are not ASCII digits
    ['0.' + '5'.repeat(31), /longer than 32/], // 33 characters
  ])('rejects %s with a message', (text, message) => {
    const q = parseQuantile(text)
    expect(typeof q).toBe('string')
    expect(q).toMatch(message)
  })

  it('accepts a 32-character quantile and rejects a 33-character one', () => {
    const at = '0.' + '1'.repeat(30)
    expect(at).toHaveLength(32)
    expect(typeof parseQuantile(at)).toBe('object')
    expect(typeof parseQuantile(at + '1')).toBe('string')
  })

  it('truncates an over-long input in its message', () => {
    const long = '0.' + '7'.repeat(10_000)
    const message = parseQuantile(long) as string
    expect(typeof message).toBe('string')
    expect(message).toMatch(/longer than 32/)
    expect(message.length).toBeLessThan(200)
  })

  it('accepts exactly the strings the reference accepts (random short strings)', () => {
    const text = fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', '-', 'e', ' '), maxLength: 8 })
    fc.assert(
      fc.property(text, (s) => {
        const q = parseQuantile(s)
        expect(typeof q === 'object').toBe(isValidQuantileText(s))
      }),
      { numRuns: 500 },
    )
  })
})

describe('quantile()', () => {
  it('builds a Quantile from a valid literal and throws RangeError on an invalid one', () => {
    expect(quantile('0.95').key).toBe('0.95')
    expect(() => quantile('0')).toThrow(RangeError)
    expect(() => quantile('1.5')).toThrow(/out of range/)
  })
})

describe('reference nearest rank (sanity of test/reference.ts)', () => {
  it('agrees with a brute-force smallest rank r such that r/n >= q', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }).map((k) => '0.' + String(k).padStart(4, '0')),
        fc.integer({ min: 1, max: 300 }),
        (q, n) => {
          const { num, den } = decimalFraction(q)
          let r = 1
          while (BigInt(r) * den < num * BigInt(n)) r++
          expect(nearestRankIndexRef(q, n)).toBe(r - 1)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('gives index 6 for q = 0.07 and n = 100', () => {
    expect(nearestRankIndexRef('0.07', 100)).toBe(6)
  })
})

describe('nearestRankIndex', () => {
  it('q = 0.07, n = 100 is index 6 (0.07 * 100 is 7.000000000000001 in doubles)', () => {
    expect(0.07 * 100).toBeGreaterThan(7) // why exact arithmetic matters
    expect(nearestRankIndex(parsed('0.07'), 100)).toBe(6)
  })

  it('q = 1 is the last index for every n', () => {
    for (const n of [1, 2, 3, 7, 100, 10_000, 9_999_999, 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
      expect(nearestRankIndex(parsed('1'), n)).toBe(n - 1)
      expect(nearestRankIndex(parsed('1.0'), n)).toBe(n - 1)
    }
  })

  it('a tiny q is index 0', () => {
    const tiny = parsed('0.' + '0'.repeat(29) + '1')
    for (const n of [1, 2, 100, 10_000_000]) expect(nearestRankIndex(tiny, n)).toBe(0)
  })

  it('n = 1 is always index 0', () => {
    for (const text of ['0.001', '0.5', '0.99', '1']) expect(nearestRankIndex(parsed(text), 1)).toBe(0)
  })

  it('matches the exact reference on random decimal strings and n up to 10^7', () => {
    const fraction = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 30 })
    const quantileText = fc
      .oneof(
        fraction.map((f) => '0.' + f),
        fraction.map((f) => '.' + f),
        fc
          .integer({ min: 0, max: 30 })
          .map((z) => '1.' + '0'.repeat(z))
          .map((s) => (s === '1.' ? '1' : s)),
        fc.integer({ min: 1, max: 999 }).map((k) => '0.' + String(k).padStart(3, '0')), // p-style: 0.07, 0.95, 0.999
      )
      .filter(isValidQuantileText)
    const n = fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 1000 }))
    fc.assert(
      fc.property(quantileText, n, (text, size) => {
        expect(nearestRankIndex(parsed(text), size)).toBe(nearestRankIndexRef(text, size))
      }),
      { numRuns: 1000 },
    )
  })

  it('matches the reference where q·n is an integer, and just above it', () => {
    // q = k/1000 with n a multiple of 1000 makes q·n an integer: where an inexact ceil goes wrong.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 1, max: 10_000 }), (k, m) => {
        const q = '0.' + String(k).padStart(3, '0')
        const n = m * 1000
        expect(nearestRankIndex(parsed(q), n)).toBe(k * m - 1)
        expect(nearestRankIndex(parsed(q), n)).toBe(nearestRankIndexRef(q, n))
        expect(nearestRankIndex(parsed(q + '1'), n)).toBe(nearestRankIndexRef(q + '1', n))
      }),
      { numRuns: 300 },
    )
  })
})
