/**
 * An obviously-right reading of StatsD lines, written from the contract with
 * splits, regexes and BigInt arithmetic rather than the service's single pass
 * over char codes: tests compare the service with it.
 */

const JOB_EVENTS = ['created', 'started', 'completed', 'failed', 'retried'] as const
const MAX_VALUES = 10_000
const MAX_NAME = 128
const MAX_NS = 2n ** 53n - 1n
const DECIMAL = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

export type RefLine =
  | { kind: 'timer'; id: string; values: number[]; status: number | undefined }
  | { kind: 'job'; id: string; event: (typeof JOB_EVENTS)[number]; count: number }
  | { kind: 'ignored' }
  | { kind: 'bad' }

/** Whether text is an unsigned decimal as StatsD values are written: 12, 0.5, .5, 5., 1e-3. */
export function isDecimalRef(text: string): boolean {
  const m = DECIMAL.exec(text)
  return m !== null && (m[1] + (m[2] ?? '')).length > 0
}

/**
 * Milliseconds as written, to whole nanoseconds rounded half up, exactly: the
 * value is num/den with BigInts, and round(x) = floor((2·num + den) / (2·den)).
 * undefined when not a decimal.
 */
export function msToNsRef(text: string): bigint | undefined {
  if (!isDecimalRef(text)) return undefined
  const m = DECIMAL.exec(text)!
  const fraction = m[2] ?? ''
  const digits = BigInt((m[1] + fraction).replace(/^0+(?=\d)/, '') || '0')
  const exponent = Number(m[3] ?? '0')
  if (digits === 0n) return 0n
  // Far outside 1..2^53-1 ns either way; spares BigInt powers with a million digits.
  if (exponent > 400) return MAX_NS + 1n
  if (exponent < -400) return 0n
  const scale = exponent - fraction.length + 6
  const num = scale >= 0 ? digits * 10n ** BigInt(scale) : digits
  const den = scale >= 0 ? 1n : 10n ** BigInt(-scale)
  return (2n * num + den) / (2n * den)
}

/** The reference daemon's key cleaning, as its source writes it (without the `;=` it keeps for tags). */
export function cleanKeyRef(key: string): string {
  return key
    .replace(/\s+/g, '_')
    .replace(/\//g, '-')
    .replace(/[^a-zA-Z_\-0-9.]/g, '')
}

interface Group {
  values: string[]
  type: string
  fields: string[]
}

/** Splits the text after the name into groups: `values|type` and its `|fields`; a ":" right after a type or a rate starts the next. */
function groupsOf(body: string): Group[] | undefined {
  const groups: Group[] = []
  let rest = body
  for (;;) {
    const pipe = rest.indexOf('|')
    if (pipe < 0) return undefined
    const values = rest.slice(0, pipe).split(':')
    rest = rest.slice(pipe + 1)
    const type = /^[^|:]*/.exec(rest)![0]
    rest = rest.slice(type.length)
    const fields: string[] = []
    while (rest.startsWith('|')) {
      rest = rest.slice(1)
      const field = (rest.startsWith('@') ? /^[^|:]*/ : /^[^|]*/).exec(rest)![0]
      fields.push(field)
      rest = rest.slice(field.length)
    }
    groups.push({ values, type, fields })
    if (rest === '') return groups
    rest = rest.slice(1) // a ":"
  }
}

function classOf(type: string): 'timer' | 'counter' | 'other' | undefined {
  if (type === 'ms' || type === 'h' || type === 'd') return 'timer'
  if (type === 'c') return 'counter'
  if (type === 'g' || type === 's') return 'other'
  return undefined
}

/** One line (no line break) as the contract reads it. */
export function refParseLine(line: string): RefLine {
  if (line.startsWith('_e{') || line.startsWith('_sc|')) return { kind: 'ignored' }
  const colon = line.indexOf(':')
  if (colon < 0) return { kind: 'bad' }
  const groups = groupsOf(line.slice(colon + 1))
  if (groups === undefined) return { kind: 'bad' }
  const classes = new Set(groups.map((g) => classOf(g.type)))
  if (classes.has(undefined) || classes.size > 1) return { kind: 'bad' }
  const lineClass = [...classes][0]
  if (lineClass === 'other') return { kind: 'ignored' }

  let invalid = false
  let status: number | undefined
  const rates: number[] = []
  for (const g of groups) {
    let rate = 1
    for (const field of g.fields) {
      if (field.startsWith('@')) {
        const text = field.slice(1)
        rate = isDecimalRef(text) ? Number(text) : NaN
        if (!(rate > 0 && rate <= 1)) invalid = true
      } else if (field.startsWith('#')) {
        for (const tag of field.slice(1).split(',')) {
          if (tag !== 'status' && !tag.startsWith('status:')) continue
          const value = tag.slice('status:'.length)
          if (!/^\d{1,3}$/.test(value) || (status !== undefined && status !== Number(value))) invalid = true
          else status = Number(value)
        }
      }
    }
    rates.push(rate)
  }

  const name = cleanKeyRef(line.slice(0, colon))
  if (lineClass === 'counter') {
    const event = JOB_EVENTS.find((e) => name.endsWith(`.${e}`))
    if (event === undefined) return { kind: 'ignored' }
    if (invalid || name.length > MAX_NAME || name.length === event.length + 1) return { kind: 'bad' }
    let total = 0
    for (let i = 0; i < groups.length; i++) {
      if (!groups[i].values.every(isDecimalRef)) return { kind: 'bad' }
      const sum = groups[i].values.reduce((s, v) => s + Number(v), 0)
      total += sum / rates[i]
    }
    const count = Math.round(total)
    if (!(count >= 1 && count <= 1_000_000)) return { kind: 'bad' }
    return { kind: 'job', id: name.slice(0, name.length - event.length - 1), event, count }
  }
  const values: number[] = []
  for (const g of groups) {
    for (const v of g.values) {
      const ns = msToNsRef(v)
      if (ns === undefined || ns < 1n || ns > MAX_NS) return { kind: 'bad' }
      values.push(Number(ns))
    }
  }
  if (invalid || values.length > MAX_VALUES || name.length === 0 || name.length > MAX_NAME) return { kind: 'bad' }
  return { kind: 'timer', id: name, values, status }
}

/** The lines of a datagram or stream as the contract counts them: split on "\n", one trailing "\r" dropped, empty ones skipped. */
export function refLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .filter((line) => line !== '')
}

export const JOB_EVENT_NAMES = JOB_EVENTS

/** What the store should hold for one id after some StatsD lines. */
export interface RefMetric {
  values: number[]
  statuses: (number | undefined)[]
  jobs: Record<(typeof JOB_EVENTS)[number], number>
}

/**
 * The store and the door's counters as the contract says StatsD lines change
 * them: each line whole or not at all, a new id beyond maxMetrics dropped.
 */
export class RefStatsd {
  readonly metrics = new Map<string, RefMetric>()
  packets = 0
  lines = 0
  samples = 0
  bad = 0
  ignored = 0
  dropped = 0

  constructor(private readonly maxMetrics = Infinity) {}

  /** Applies a datagram (packets + 1) or whole lines of a TCP stream. */
  apply(text: string, datagram: boolean): void {
    if (datagram) this.packets++
    for (const line of refLines(text)) {
      this.lines++
      const parsed = refParseLine(line)
      if (parsed.kind === 'bad') this.bad++
      else if (parsed.kind === 'ignored') this.ignored++
      else {
        let metric = this.metrics.get(parsed.id)
        if (metric === undefined) {
          if (this.metrics.size >= this.maxMetrics) {
            this.dropped++
            continue
          }
          metric = { values: [], statuses: [], jobs: { created: 0, started: 0, completed: 0, failed: 0, retried: 0 } }
          this.metrics.set(parsed.id, metric)
        }
        if (parsed.kind === 'timer') {
          metric.values.push(...parsed.values)
          metric.statuses.push(...parsed.values.map(() => parsed.status))
          this.samples += parsed.values.length
        } else {
          metric.jobs[parsed.event] += parsed.count
        }
      }
    }
  }

  /** service.statsd as GET /metrics should report it. */
  counts() {
    return {
      packets: this.packets,
      lines: this.lines,
      samples: this.samples,
      bad_lines: this.bad,
      ignored_lines: this.ignored,
      dropped_lines: this.dropped,
    }
  }
}
