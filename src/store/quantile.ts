/**
 * Quantiles kept as exact decimal fractions (num / den) so the nearest-rank index
 * ceil(q·n) − 1 is computed in integers: q = 0.07 with n = 100 is rank 7, although
 * 0.07 * 100 is 7.000000000000001 in doubles.
 */
export interface Quantile {
  /** The text it was parsed from, used as the key in responses. */
  readonly key: string
  readonly value: number
  readonly num: bigint
  readonly den: bigint
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$|^\.(\d+)$/
const MAX_QUANTILE_LENGTH = 32

/** Parses a decimal in (0, 1]; returns an error message instead when it is not one. */
export function parseQuantile(text: string): Quantile | string {
  if (text.length > MAX_QUANTILE_LENGTH) {
    return `quantile "${text.slice(0, MAX_QUANTILE_LENGTH)}…" is longer than ${MAX_QUANTILE_LENGTH} characters`
  }
  const m = DECIMAL.exec(text)
  if (m === null) return `quantile "${text}" is not a decimal number`
  const whole = m[1] ?? '0'
  const fraction = m[2] ?? m[3] ?? ''
  const den = 10n ** BigInt(fraction.length)
  const num = BigInt(whole) * den + BigInt(fraction === '' ? '0' : fraction)
  if (num <= 0n || num > den) return `quantile "${text}" is out of range: it must be > 0 and <= 1`
  return { key: text, value: Number(text), num, den }
}

/** Builds a Quantile from a literal known to be valid (the built-in p50/p95/p99). */
export function quantile(text: string): Quantile {
  const q = parseQuantile(text)
  if (typeof q === 'string') throw new RangeError(q)
  return q
}

/** Nearest-rank index: ceil(q·n) − 1, clamped to 0..n−1. n must be >= 1. */
export function nearestRankIndex(q: Quantile, n: number): number {
  const bn = BigInt(n)
  const rank = Number((q.num * bn + q.den - 1n) / q.den)
  return rank < 1 ? 0 : rank > n ? n - 1 : rank - 1
}
