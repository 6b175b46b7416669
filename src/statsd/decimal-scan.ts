/**
 * Unsigned decimal numbers as StatsD clients write them (`12`, `0.25`, `.5`,
 * `1e-3`, `2.5E+2`), scanned from a string without slicing it, so a line's
 * values cost no allocation. A scan keeps the significant digits as an integer
 * mantissa and a power of ten, which lets milliseconds become whole nanoseconds
 * by exact decimal rounding rather than by a multiplication in doubles.
 */

/** Powers of ten exact in a double (10^22 is the last). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k)
/** Digits a double holds exactly: more go through the slow exact path. */
const MAX_FAST_DIGITS = 15
/** Exponents beyond this put any value far outside what a line may carry; saturating keeps the arithmetic finite. */
const EXPONENT_CAP = 100_000

const DIGIT_0 = 48
const DIGIT_9 = 57
const DOT = 46
const LOWER_E = 101
const UPPER_E = 69
const PLUS = 43
const MINUS = 45

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9
}

export class DecimalScan {
  /** The significant digits as an integer (exact when `fast`). */
  mantissa = 0
  /** The value is mantissa × 10^exponent. */
  exponent = 0
  /** False when there were more than 15 significant digits: the conversions re-read the text exactly. */
  fast = true
  private text = ''
  private start = 0
  private end = 0

  /**
   * Scans the longest number at text[i..limit): digits, an optional fraction and
   * an optional exponent, with at least one digit before the exponent. Returns
   * the index after it, or -1 when no number starts at i (or an exponent has no digits).
   */
  scan(text: string, i: number, limit: number): number {
    const start = i
    let mantissa = 0
    let exponent = 0
    let digits = 0
    let significant = 0
    let c = i < limit ? text.charCodeAt(i) : -1
    while (isDigit(c)) {
      if (significant > 0 || c !== DIGIT_0) {
        // Past 15 digits `fast` is false and the text is re-read: the mantissa stops here.
        if (significant < MAX_FAST_DIGITS) mantissa = mantissa * 10 + (c - DIGIT_0)
        significant++
      }
      digits++
      c = ++i < limit ? text.charCodeAt(i) : -1
    }
    if (c === DOT) {
      c = ++i < limit ? text.charCodeAt(i) : -1
      while (isDigit(c)) {
        if (significant > 0 || c !== DIGIT_0) {
          if (significant < MAX_FAST_DIGITS) {
            mantissa = mantissa * 10 + (c - DIGIT_0)
            exponent--
          }
          significant++
        } else {
          exponent--
        }
        digits++
        c = ++i < limit ? text.charCodeAt(i) : -1
      }
    }
    if (digits === 0) return -1
    if (c === LOWER_E || c === UPPER_E) {
      c = ++i < limit ? text.charCodeAt(i) : -1
      let sign = 1
      if (c === PLUS || c === MINUS) {
        if (c === MINUS) sign = -1
        c = ++i < limit ? text.charCodeAt(i) : -1
      }
      if (!isDigit(c)) return -1
      let power = 0
      while (isDigit(c)) {
        if (power < EXPONENT_CAP) power = power * 10 + (c - DIGIT_0)
        c = ++i < limit ? text.charCodeAt(i) : -1
      }
      exponent += sign * power
    }
    this.mantissa = mantissa
    this.exponent = exponent
    this.fast = significant <= MAX_FAST_DIGITS
    this.text = text
    this.start = start
    this.end = i
    return i
  }

  /**
   * The scanned number of milliseconds as whole nanoseconds, rounded to nearest
   * (halves up), computed exactly in decimal. Any value of 2^53 ns or more comes
   * out at 2^53 or more, so a range check on the result is enough.
   */
  toNanoseconds(): number {
    if (!this.fast) return exactNanoseconds(this.text.slice(this.start, this.end))
    const m = this.mantissa
    if (m === 0) return 0
    const e = this.exponent + 6
    if (e >= 0) return e < POW10.length ? m * POW10[e] : Infinity
    const k = -e
    // m < 10^15 and 10^k >= 2 * 10^15 above this: under half a nanosecond.
    if (k >= POW10.length) return 0
    const d = POW10[k]
    // m, d and q * d are integers below 2^53, so the remainder is exact; the
    // floor of a rounded quotient can be one off, which the two loops correct.
    let q = Math.floor(m / d)
    let r = m - q * d
    while (r < 0) {
      q--
      r += d
    }
    while (r >= d) {
      q++
      r -= d
    }
    return 2 * r >= d ? q + 1 : q
  }

  /** The scanned number as the nearest double, as Number() would read it. */
  toNumber(): number {
    if (!this.fast) return Number(this.text.slice(this.start, this.end))
    const m = this.mantissa
    const e = this.exponent
    if (e >= 0) return e < POW10.length ? m * POW10[e] : m * 10 ** e
    return -e < POW10.length ? m / POW10[-e] : Number(this.text.slice(this.start, this.end))
  }
}

const NUMBER = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/** toNanoseconds for numbers with more significant digits than a double holds: BigInt arithmetic on the text. */
function exactNanoseconds(token: string): number {
  const parts = NUMBER.exec(token)
  if (parts === null) return NaN
  const fraction = parts[2] ?? ''
  const digits = (parts[1] + fraction).replace(/^0+/, '')
  if (digits === '') return 0
  const e = (parts[3] === undefined ? 0 : Number(parts[3])) - fraction.length + 6
  // 2^53 has 16 digits: a larger power of ten is out of range whatever the digits.
  if (e >= 0) return digits.length + e > 17 ? Infinity : Number(BigInt(digits) * 10n ** BigInt(e))
  const k = -e
  // Below 0.1 ns: rounds to 0.
  if (k > digits.length + 1) return 0
  const d = 10n ** BigInt(k)
  const m = BigInt(digits)
  const q = m / d
  return Number(2n * (m % d) >= d ? q + 1n : q)
}
