import { type ReadOptions, parseQuantiles, parseStatusFilter, parseThresholds, parseWindow } from '../store/read-options.js'
import { BadQueryError } from './errors.js'

/** The query parameters every read takes (strings: the schemas coerce nothing). */
interface ReadQueryText {
  window_ms?: string
  quantiles?: string
  status?: string
  le_ns?: string
}

/** Turns ?window_ms=, ?quantiles=, ?status= and ?le_ns= into read options; 400 with the domain's message when one is malformed. */
export function parseReadQuery(query: ReadQueryText, maxWindowMs: number): ReadOptions {
  const options: { -readonly [K in keyof ReadOptions]: ReadOptions[K] } = { windowMs: maxWindowMs }
  if (query.window_ms !== undefined) options.windowMs = valid(parseWindow(query.window_ms, maxWindowMs))
  if (query.quantiles !== undefined) options.quantiles = valid(parseQuantiles(query.quantiles))
  if (query.status !== undefined) options.status = valid(parseStatusFilter(query.status))
  if (query.le_ns !== undefined) options.le = valid(parseThresholds(query.le_ns))
  return options
}

function valid<T>(parsed: T | string): T {
  if (typeof parsed === 'string') throw new BadQueryError(parsed)
  return parsed
}
