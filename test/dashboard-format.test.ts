// How the dashboard writes numbers (src/dashboard/format.ts has no DOM, so Node runs it).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DASH, exactNs, formatNs, formatPercent, formatWindow, threeDigits, wholeUnit } from '../src/dashboard/format.js'

const FACTORS: Record<string, number> = { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 }

describe('dashboard number formats', () => {
  it('writes latencies in ns, µs, ms or s with three significant digits', () => {
    expect(formatNs(1)).toBe('1 ns')
    expect(formatNs(999)).toBe('999 ns')
    expect(formatNs(12.345)).toBe('12.3 ns')
    expect(formatNs(1000)).toBe('1.00 µs')
    expect(formatNs(1500)).toBe('1.50 µs')
    expect(formatNs(98_000)).toBe('98.0 µs')
    expect(formatNs(33_566.67)).toBe('33.6 µs')
    expect(formatNs(999_499)).toBe('999 µs')
    // Rounds up into the next unit rather than writing "1.00e+3 µs".
    expect(formatNs(999_999)).toBe('1.00 ms')
    expect(formatNs(250_000_000)).toBe('250 ms')
    expect(formatNs(1_234_567_890)).toBe('1.23 s')
    expect(formatNs(3_600_000_000_000)).toBe('3,600 s')
  })

  it('reads back within half a unit in the third digit, for any value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (ns) => {
        const [number, unit] = formatNs(ns).split(' ')
        const value = Number(number.replace(/,/g, '')) * FACTORS[unit]
        // Three significant digits: off by at most 0.5 in the last of them (5e-3 relative).
        expect(Math.abs(value - ns) / ns).toBeLessThanOrEqual(5e-3)
        if (unit !== 's') expect(Number(number)).toBeLessThan(1000)
        if (unit !== 'ns') expect(Number(number.replace(/,/g, ''))).toBeGreaterThanOrEqual(1)
      }),
    )
  })

  it('shows an empty window as a dash, never 0', () => {
    expect(formatNs(null)).toBe(DASH)
    expect(formatPercent(null)).toBe(DASH)
    expect(formatPercent(Number.NaN)).toBe(DASH)
    expect(exactNs(null)).toBe('no samples in the window')
  })

  it('gives exact nanoseconds for tooltips', () => {
    expect(exactNs(98_000)).toBe('98,000 ns')
    expect(exactNs(9_007_199_254_740_991)).toBe('9,007,199,254,740,991 ns')
  })

  it('writes error rates as percentages', () => {
    expect(formatPercent(0)).toBe('0%')
    expect(formatPercent(1)).toBe('100%')
    expect(formatPercent(1 / 3)).toBe('33.3%')
    expect(formatPercent(0.0001)).toBe('0.0100%')
    expect(threeDigits(999.7)).toBe('1,000')
  })

  it('never writes a share below all as "100%", nor one above none as "0%"', () => {
    expect(formatPercent(null)).toBe(DASH)
    expect(formatPercent(0)).toBe('0%')
    expect(formatPercent(1)).toBe('100%')
    // Three digits would round these up to 100: two decimals, then a bound.
    expect(formatPercent(0.9995)).toBe('99.95%')
    expect(formatPercent(0.9999)).toBe('99.99%')
    expect(formatPercent(0.99994)).toBe('99.99%')
    expect(formatPercent(0.99999)).toBe('> 99.99%')
    expect(formatPercent(1 - 1e-12)).toBe('> 99.99%')
    expect(formatPercent(0.99949)).toBe('99.9%')
    // Tiny shares: three digits down to 0.01%, then a bound (never "0%", nor exponents).
    expect(formatPercent(0.0001)).toBe('0.0100%')
    expect(formatPercent(0.00005)).toBe('< 0.01%')
    expect(formatPercent(1e-12)).toBe('< 0.01%')
    expect(formatPercent(Number.MIN_VALUE)).toBe('< 0.01%')
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (fraction) => {
        const text = formatPercent(fraction)
        expect(text === '100%', `${fraction} -> ${text}`).toBe(fraction === 1)
        expect(text === '0%', `${fraction} -> ${text}`).toBe(fraction === 0)
        expect(text).toMatch(/^(?:[<>] )?\d+(?:\.\d+)?%$/)
      }),
    )
  })

  it('names windows and picks a whole unit for thresholds', () => {
    expect(formatWindow(60_000)).toBe('1 min')
    expect(formatWindow(3_600_000)).toBe('1 h')
    expect(formatWindow(90_000)).toBe('90 s')
    expect(formatWindow(1500)).toBe('1500 ms')
    expect(wholeUnit(250_000_000)).toEqual([250, 1e6])
    expect(wholeUnit(1_500_000)).toEqual([1500, 1e3])
    expect(wholeUnit(2e9)).toEqual([2, 1e9])
    expect(wholeUnit(7)).toEqual([7, 1])
  })
})
