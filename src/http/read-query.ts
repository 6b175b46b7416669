import { type Quantile, parseQuantile } from '../store/quantile.js'
import type { SnapshotOptions } from '../store/metric-store.js'
import { BadQueryError } from './errors.js'

const MAX_QUANTILES = 64

/**
 * Turns ?window_ms= and ?quantiles= into snapshot options. Query values are kept
 * as strings by the schema (no type coercion anywhere), so the checks and their
 * messages live here.
 */
export function parseReadQuery(
  query: { window_ms?: string; quantiles?: string },
  maxWindowMs: number,
): SnapshotOptions {
  let windowMs = maxWindowMs
  if (query.window_ms !== undefined) {
    const raw = query.window_ms
    const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN
    if (!(n >= 1 && n <= maxWindowMs)) {
      throw new BadQueryError(`window_ms must be an integer from 1 to ${maxWindowMs}, got "${raw}"`)
    }
    windowMs = n
  }
  if (query.quantiles === undefined) return { windowMs }
  const parts = query.quantiles.split(',')
  if (parts.length > MAX_QUANTILES) {
    throw new BadQueryError(`quantiles takes at most ${MAX_QUANTILES} values, got ${parts.length}`)
  }
  const quantiles: Quantile[] = []
  const seen = new Set<string>()
  for (const part of parts) {
    const q = parseQuantile(part)
    if (typeof q === 'string') throw new BadQueryError(q)
    if (!seen.has(q.key)) {
      seen.add(q.key)
      quantiles.push(q)
    }
  }
  return { windowMs, quantiles }
}
