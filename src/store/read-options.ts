import { type Quantile, parseQuantile } from './quantile.js'
import { MAX_LATENCY_NS, MAX_STATUS, MIN_LATENCY_NS } from './sample-layout.js'

/**
 * What a read asks for: the window, extra quantiles, a status filter and SLO
 * thresholds. Parsed here, in the domain, so that every reader (the HTTP routes,
 * the exposition, a future door) applies the same rules; each parser returns an
 * error message instead of a value when its input is malformed.
 */
export interface ReadOptions {
  windowMs: number
  /** Extra quantiles, reported under `quantiles` keyed by their text. */
  quantiles?: readonly Quantile[]
  /** Only samples whose status matches count, for every windowed statistic. */
  status?: StatusFilter
  /** Thresholds for `le`: the share of samples at or under each. */
  le?: readonly Threshold[]
}

/** The options as text: two reads with equal keys ask for the same statistics of a run (the window aside, which picks the run). */
export function readOptionsKey(options: ReadOptions): string {
  const quantiles = options.quantiles?.map((q) => q.key).join(',') ?? ''
  const le = options.le?.map((t) => t.ns).join(',') ?? ''
  return `${quantiles}|${options.status?.text ?? ''}|${le}`
}

const MAX_QUANTILES = 64
const MAX_STATUS_TERMS = 16
const MAX_THRESHOLDS = 16

/** A window length: an integer 1..maxWindowMs. */
export function parseWindow(text: string, maxWindowMs: number): number | string {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN
  return n >= 1 && n <= maxWindowMs ? n : `window_ms must be an integer from 1 to ${maxWindowMs}, got "${text}"`
}

/** Comma-separated quantiles, each once, in the order given. */
export function parseQuantiles(text: string): Quantile[] | string {
  const parts = text.split(',')
  if (parts.length > MAX_QUANTILES) return `quantiles takes at most ${MAX_QUANTILES} values, got ${parts.length}`
  const quantiles: Quantile[] = []
  const seen = new Set<string>()
  for (const part of parts) {
    const q = parseQuantile(part)
    if (typeof q === 'string') return q
    if (!seen.has(q.key)) {
      seen.add(q.key)
      quantiles.push(q)
    }
  }
  return quantiles
}

/**
 * A set of statuses: `matches[s]` is 1 for every status s (0..999) a term names.
 * A sample without a status (NO_STATUS, outside the table) never matches.
 */
export interface StatusFilter {
  /** The terms as given, e.g. "2xx,404". */
  readonly text: string
  readonly matches: Uint8Array
}

const STATUS_TERM = /^(?:(0|[1-9]\d{0,2})|([1-9])xx)$/

/** `2xx,404`: terms that are exact statuses 0..999 or classes 1xx..9xx; at most 16. */
export function parseStatusFilter(text: string): StatusFilter | string {
  const terms = text.split(',')
  if (terms.length > MAX_STATUS_TERMS) return `status takes at most ${MAX_STATUS_TERMS} terms, got ${terms.length}`
  const matches = new Uint8Array(MAX_STATUS + 1)
  for (const term of terms) {
    const m = STATUS_TERM.exec(term)
    if (m === null) {
      return `status term "${term}" is neither a status 0..${MAX_STATUS} (no leading zeros) nor a class 1xx..9xx`
    }
    if (m[1] !== undefined) matches[Number(m[1])] = 1
    else matches.fill(1, Number(m[2]) * 100, Number(m[2]) * 100 + 100)
  }
  return { text, matches }
}

/** An SLO threshold in ns, keyed in answers by its text as given. */
export interface Threshold {
  readonly key: string
  readonly ns: number
}

/** `1000000,250000000`: integers 1..2^53-1, each once, in the order given; at most 16. */
export function parseThresholds(text: string): Threshold[] | string {
  const parts = text.split(',')
  if (parts.length > MAX_THRESHOLDS) return `le_ns takes at most ${MAX_THRESHOLDS} thresholds, got ${parts.length}`
  const out: Threshold[] = []
  const seen = new Set<string>()
  for (const part of parts) {
    const ns = /^\d{1,16}$/.test(part) ? Number(part) : NaN
    if (!(ns >= MIN_LATENCY_NS && ns <= MAX_LATENCY_NS)) {
      return `le_ns threshold "${part}" is not an integer from ${MIN_LATENCY_NS} to ${MAX_LATENCY_NS}`
    }
    if (!seen.has(part)) {
      seen.add(part)
      out.push({ key: part, ns })
    }
  }
  return out
}
