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

/** The `version` parameter of a Content-Type above: the version of the format we write. */
function writtenVersion(contentType: string): string {
  const match = /;\s*version=([^;\s]+)/.exec(contentType)
  if (match === null) throw new Error(`no version in ${contentType}`)
  return match[1]
}

/**
 * What each format is offered as. `version` is the one we write (from CONTENT_TYPES);
 * `aliases` are versions also answered with it, as a fallback when no range matches
 * the written version: OpenMetrics 0.0.1 is the pre-1.0 name of the same text format
 * (Prometheus lists it), and text 1.0.0 is text 0.0.4 plus quoted UTF-8 names, which
 * we never write, so our 0.0.4 is valid 1.0.0 and Prometheus 3 parses any text/plain
 * response with the same parser. The Content-Type still names the version we write.
 */
const OFFERS: ReadonlyArray<{ format: Format; type: string; subtype: string; version?: string; aliases?: readonly string[] }> = [
  { format: 'json', type: 'application', subtype: 'json' },
  { format: 'prometheus', type: 'text', subtype: 'plain', version: writtenVersion(CONTENT_TYPES.prometheus), aliases: ['1.0.0'] },
  { format: 'openmetrics', type: 'application', subtype: 'openmetrics-text', version: writtenVersion(CONTENT_TYPES.openmetrics), aliases: ['0.0.1'] },
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

/** From this specificity up, the range names the format's type and subtype. */
const EXPLICIT = 2

/**
 * How specifically a range matches an offer, per RFC 9110 §12.5.1 with a version
 * parameter that matches only the version we write:
 * 4: type/subtype;version=<written>, 3: type/subtype, 2: type/subtype;version=<alias>,
 * 1: type/*, 0: *∕*; -1: no match (another type, or a version we neither write nor alias,
 * e.g. text/plain;version=0.0.5). An alias ranks below a range without a version, which
 * does match what we write, and above the wildcards, so it is not tied with JSON there.
 */
function specificity(range: MediaRange, offer: (typeof OFFERS)[number]): number {
  if (range.type === '*') return 0
  if (range.type !== offer.type) return -1
  if (range.subtype === '*') return 1
  if (range.subtype !== offer.subtype) return -1
  if (range.version === undefined) return 3
  if (offer.version === undefined || range.version === offer.version) return 4
  return offer.aliases?.includes(range.version) === true ? 2 : -1
}

/**
 * The format for an Accept header, by HTTP content negotiation (RFC 9110 §12.5.1):
 * each format takes the quality of the most specific range that matches it (see
 * specificity: `openmetrics-text;version=0.0.1;q=0,openmetrics-text;version=1.0.0`
 * is OpenMetrics at q=1); the highest quality wins; on a tie a format named explicitly
 * beats one reached only through a wildcard, then the one listed first wins, then
 * SERVER_ORDER. Between ranges equally specific for a format, the first listed counts.
 * Prometheus 2.x sends `application/openmetrics-text;version=1.0.0,…;q=0.75,
 * text/plain;version=0.0.4;q=0.5,*∕*;q=0.1` and gets OpenMetrics, as does Prometheus 3
 * by default; with scrape_protocols [PrometheusText1.0.0] it sends
 * `text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*∕*;q=0.5` and gets text 0.0.4.
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
      explicit: matchSpecificity >= EXPLICIT,
      order: matchSpecificity >= EXPLICIT ? match.order : Number.MAX_SAFE_INTEGER,
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
