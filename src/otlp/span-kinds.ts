/**
 * OTLP span kinds (opentelemetry.proto.trace.v1.Span.SpanKind) by the names
 * OTLP_SPAN_KINDS uses, lower case and without the SPAN_KIND_ prefix.
 */
export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const
export type SpanKindName = (typeof SPAN_KINDS)[number]

/** Which span kinds become samples; the others are skipped. */
export class SpanKindFilter {
  private readonly allowed: boolean[]
  /** Every kind, including values no SpanKind names yet (a newer producer's). */
  private readonly all: boolean

  constructor(names: readonly SpanKindName[]) {
    this.allowed = SPAN_KINDS.map((name) => names.includes(name))
    this.all = this.allowed.every(Boolean)
  }

  accepts(kind: number): boolean {
    return this.all || this.allowed[kind] === true
  }
}
