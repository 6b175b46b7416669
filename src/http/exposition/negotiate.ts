import { BadQueryError } from '../errors.js'

/**
 * Which representation GET /metrics answers with: the JSON of the base contract,
 * the Prometheus text format 0.0.4, or OpenMetrics 1.0.0.
 */
export const FORMATS = ['json', 'prometheus', 'openmetrics'] as const
type Format = (typeof FORMATS)[number]

/** The exact Content-Type of each format. JSON is what Fastify sets for a serialized object. */
export const CONTENT_TYPES: Readonly<Record<Format, string>> = {
  json: 'application/json; charset=utf-8',
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
}

/** On equal quality with no explicit preference (e.g. `*∕*` alone), the server prefers them in this order. */
const SERVER_ORDER: readonly Format[] = ['json', 'openmetrics', 'prometheus']

/**
 * Versions accepted per media type. OpenMetrics 0.0.1 is the pre-1.0 name of the
 * same text format (Prometheus 2.x still lists it), so it is served as 1.0.0.
 */
const OFFERS: ReadonlyArray<{ format: Format; type: string; subtype: string; versions?: readonly string[] }> = [
  { format: 'json', type: 'application', subtype: 'json' },
  { format: 'prometheus', type: 'text', subtype: 'plain', versions: ['0.0.4'] },
  { format: 'openmetrics', type: 'application', subtype: 'openmetrics-text', versions: ['1.0.0', '0.0.1'] },
]

interface MediaRange {
  type: string
  subtype: string
  version: string | undefined
  q: number
  /** Position in the header, for ties between explicit choices. */
  order: number
}

const Q_VALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/** Parses an Accept header into media ranges; malformed ranges are skipped. */
function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = []
  const parts = header.split(',')
  for (let i = 0; i < parts.length; i++) {
    const [media, ...params] = parts[i].split(';')
    const slash = media.indexOf('/')
    if (slash <= 0) continue
    const type = media.slice(0, slash).trim().toLowerCase()
    const subtype = media
      .slice(slash + 1)
      .trim()
      .toLowerCase()
    if (type === '' || subtype === '' || (type === '*' && subtype !== '*')) continue
    let q = 1
    let version: string | undefined
    let valid = true
    for (const param of params) {
      const eq = param.indexOf('=')
      if (eq < 0) continue
      const name = param.slice(0, eq).trim().toLowerCase()
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1')
      if (name === 'q') {
        if (Q_VALUE.test(value)) q = Number(value)
        else valid = false
      } else if (name === 'version') {
        version = value
      }
    }
    if (valid) ranges.push({ type, subtype, version, q, order: i })
  }
  return ranges
}

/** 3: type/subtype;version=…, 2: type/subtype, 1: type/*, 0: *∕*; -1: no match. */
function specificity(range: MediaRange, offer: (typeof OFFERS)[number]): number {
  if (range.type === '*') return 0
  if (range.type !== offer.type) return -1
  if (range.subtype === '*') return 1
  if (range.subtype !== offer.subtype) return -1
  if (range.version === undefined) return 2
  // A version we do not produce does not match (text/plain;version=0.0.5 is not ours).
  return offer.versions === undefined || offer.versions.includes(range.version) ? 3 : -1
}

/**
 * The format for an Accept header, by HTTP content negotiation (RFC 9110 §12.5.1):
 * each format takes the quality of the most specific range that matches it; the
 * highest quality wins; on a tie a format named explicitly beats one reached only
 * through a wildcard, then the one listed first wins, then SERVER_ORDER.
 * Prometheus 2.x sends `application/openmetrics-text;version=1.0.0,…;q=0.75,
 * text/plain;version=0.0.4;q=0.5,*∕*;q=0.1` and gets OpenMetrics.
 * No header, or nothing acceptable that we produce: JSON, as before negotiation existed.
 */
export function negotiate(accept: string | undefined): Format {
  if (accept === undefined || accept.trim() === '') return 'json'
  const ranges = parseAccept(accept)
  let best: { format: Format; q: number; explicit: boolean; order: number; rank: number } | undefined
  for (const offer of OFFERS) {
    let match: MediaRange | undefined
    let matchSpecificity = -1
    for (const range of ranges) {
      const s = specificity(range, offer)
      if (s > matchSpecificity) {
        match = range
        matchSpecificity = s
      }
    }
    if (match === undefined || match.q <= 0) continue
    const candidate = {
      format: offer.format,
      q: match.q,
      explicit: matchSpecificity >= 2,
      order: matchSpecificity >= 2 ? match.order : Number.MAX_SAFE_INTEGER,
      rank: SERVER_ORDER.indexOf(offer.format),
    }
    if (best === undefined || better(candidate, best)) best = candidate
  }
  return best?.format ?? 'json'
}

function better(a: { q: number; explicit: boolean; order: number; rank: number }, b: { q: number; explicit: boolean; order: number; rank: number }): boolean {
  if (a.q !== b.q) return a.q > b.q
  if (a.explicit !== b.explicit) return a.explicit
  if (a.order !== b.order) return a.order < b.order
  return a.rank < b.rank
}

/** `?format=`: one of FORMATS; anything else is a 400 naming the allowed values. */
export function parseFormat(value: string): Format {
  if ((FORMATS as readonly string[]).includes(value)) return value as Format
  throw new BadQueryError(`format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(value)}`)
}
