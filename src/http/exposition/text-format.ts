/**
 * The two Prometheus text formats differ in small ways this file keeps in one place:
 * - Prometheus text 0.0.4: `# HELP name text` and `# TYPE name type`, HELP escaping
 *   only `\\` and `\n`; counters are named with their `_total` suffix.
 * - OpenMetrics 1.0.0: a counter family is named without `_total` in HELP/TYPE while
 *   its samples keep it; HELP also escapes `"`; `# UNIT` may name the unit (the
 *   family name must end with it); the body ends with `# EOF`.
 * Label values are escaped the same way in both: `\\`, `\"`, `\n`.
 */
export type TextFormat = 'prometheus' | 'openmetrics'
export type FamilyType = 'counter' | 'gauge' | 'summary' | 'histogram'

export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value
}

export function escapeHelp(text: string, format: TextFormat): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped
}

/** A sample value: integers as digits, NaN and infinities by their spec names, anything else as the shortest round-trip decimal. */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value)
  if (Number.isNaN(value)) return 'NaN'
  return value > 0 ? '+Inf' : '-Inf'
}

/** Nanoseconds to seconds, the base unit Prometheus expects. */
export function seconds(ns: number): number {
  return ns / 1e9
}

/** `{a="x",b="y"}` from name/value pairs (values escaped), or '' without labels. */
export function labelSet(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return ''
  let out = '{'
  for (let i = 0; i < pairs.length; i++) {
    if (i > 0) out += ','
    out += `${pairs[i][0]}="${escapeLabelValue(pairs[i][1])}"`
  }
  return `${out}}`
}

/**
 * The HELP/TYPE (and UNIT) lines of a family. `name` is the name samples use,
 * `_total` included for counters; OpenMetrics metadata drops that suffix.
 */
export function familyHeader(format: TextFormat, name: string, type: FamilyType, help: string, unit?: string): string {
  const family = format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name
  let out = `# HELP ${family} ${escapeHelp(help, format)}\n# TYPE ${family} ${type}\n`
  if (format === 'openmetrics' && unit !== undefined) out += `# UNIT ${family} ${unit}\n`
  return out
}

/** Text is handed out in UTF-8 chunks of about this size rather than as one string. */
const CHUNK_CHARS = 64 * 1024

/**
 * One family: its metadata, then sample lines appended in order. The lines are
 * sealed into UTF-8 Buffers every CHUNK_CHARS characters, so that a large
 * exposition (tens of MB for thousands of ids) is neither one huge string that
 * must be flattened and encoded in a single blocking step when sent, nor
 * millions of rope nodes for the garbage collector. Empty families are left out.
 */
export class Family {
  private text = ''
  private readonly chunks: Buffer[] = []

  constructor(
    readonly name: string,
    readonly type: FamilyType,
    readonly help: string,
    readonly unit?: string,
  ) {}

  /** Appends `name+suffix{labels} value`. `labels` is a prebuilt labelSet() string. */
  sample(suffix: string, labels: string, value: number): void {
    this.text += `${this.name}${suffix}${labels} ${formatValue(value)}\n`
    if (this.text.length >= CHUNK_CHARS) this.seal()
  }

  get empty(): boolean {
    return this.text === '' && this.chunks.length === 0
  }

  /** The family's header and lines, as UTF-8 chunks. */
  render(format: TextFormat): Buffer[] {
    if (this.empty) return []
    this.seal()
    return [Buffer.from(familyHeader(format, this.name, this.type, this.help, this.unit)), ...this.chunks]
  }

  private seal(): void {
    if (this.text === '') return
    this.chunks.push(Buffer.from(this.text))
    this.text = ''
  }
}
