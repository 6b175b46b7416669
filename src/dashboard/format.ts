// Numbers as people read them. Pure functions (no DOM), so the Node tests can check them.

/** What an empty window shows instead of a number: a dash, never 0. */
export const DASH = '–'

const TIME_UNITS: ReadonlyArray<readonly [factor: number, unit: string]> = [
  [1, 'ns'],
  [1e3, 'µs'],
  [1e6, 'ms'],
  [1e9, 's'],
]

/** Three significant digits; integers of 1,000 and more in full, with separators. */
export function threeDigits(x: number): string {
  if (x === 0) return '0'
  const rounded = x.toPrecision(3)
  // toPrecision switches to exponent notation once the rounded value reaches 1,000.
  if (Math.abs(Number(rounded)) >= 1000) return Math.round(x).toLocaleString('en-US')
  return rounded
}

/** Nanoseconds in the largest unit (ns, µs, ms, s) that keeps the value at 1 or more. */
export function formatNs(ns: number | null): string {
  if (ns === null) return DASH
  let i = 0
  while (i + 1 < TIME_UNITS.length && Math.abs(ns) >= TIME_UNITS[i + 1][0]) i++
  // 999,999 ns is 1,000 µs at three digits: that is 1.00 ms.
  if (i + 1 < TIME_UNITS.length && Math.abs(Number((ns / TIME_UNITS[i][0]).toPrecision(3))) >= 1000) i++
  const [factor, unit] = TIME_UNITS[i]
  // Whole nanoseconds (every sample is one) need no decimals: "12 ns", not "12.0 ns".
  if (factor === 1 && Number.isInteger(ns)) return `${ns} ns`
  return `${threeDigits(ns / factor)} ${unit}`
}

/** The exact value for a tooltip, e.g. "98,000 ns". */
export function exactNs(ns: number | null): string {
  if (ns === null) return 'no samples in the window'
  return `${ns.toLocaleString('en-US', { maximumFractionDigits: 3 })} ns`
}

/**
 * A share 0..1 as a percentage with three significant digits; null (nothing to divide) is a dash.
 * Only none reads "0%" and only all "100%" (one error in 100,000 is still one): a share that three
 * digits would round up to 100 keeps two decimals ("99.95%"), and one closer to either end than
 * two decimals tell reads "> 99.99%" or "< 0.01%".
 */
export function formatPercent(fraction: number | null): string {
  // Not a number the service sends; a dash rather than a share it never measured.
  if (fraction === null || !Number.isFinite(fraction)) return DASH
  if (fraction <= 0 || fraction >= 1) return `${threeDigits(fraction * 100)}%`
  if (fraction < 0.0001) return '< 0.01%'
  const percent = fraction * 100
  const digits = threeDigits(percent)
  if (Number(digits) < 100) return `${digits}%`
  const decimals = percent.toFixed(2)
  return Number(decimals) < 100 ? `${decimals}%` : '> 99.99%'
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

/** Events per second, e.g. "12.5/s". */
export function formatRate(perSecond: number): string {
  return `${threeDigits(perSecond)}/s`
}

/** A window length, e.g. "5 min", "1 h", "90 s". */
export function formatWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  if (ms % 1000 === 0) return `${ms / 1000} s`
  return `${ms} ms`
}

/** Uptime, e.g. "42 s", "12 min 5 s", "3 h 12 min", "2 d 4 h". */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`
}

/** Bytes in KiB/MiB/GiB with three significant digits. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = bytes
  while (v >= 1024 && i + 1 < units.length) {
    v /= 1024
    i++
  }
  return `${threeDigits(v)} ${units[i]}`
}

/**
 * A threshold in ns written in the largest unit that keeps it whole (250000000 -> 250 ms),
 * for the SLO input; [value, unit factor].
 */
export function wholeUnit(ns: number): [value: number, factor: number] {
  for (let i = TIME_UNITS.length - 1; i > 0; i--) {
    const factor = TIME_UNITS[i][0]
    if (ns % factor === 0) return [ns / factor, factor]
  }
  return [ns, 1]
}

/** A clock time for the refresh line, e.g. "14:03:27". */
export function formatClock(date: Date): string {
  return date.toLocaleTimeString('en-GB', { hour12: false })
}
