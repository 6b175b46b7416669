import type { BatchResult } from './span-batch.js'

/** What the OTLP door has taken since the process started, for GET /metrics (service.otlp) and Prometheus. */
export class OtlpCounters {
  /** Export requests decoded and answered 200. */
  requests = 0
  /** Spans recorded as samples. */
  spans = 0
  /** Spans refused (bad times or status, or MAX_METRICS reached): partialSuccess.rejectedSpans. */
  rejectedSpans = 0
  /** Spans of a kind OTLP_SPAN_KINDS leaves out. */
  skippedSpans = 0

  count(result: BatchResult): void {
    this.requests++
    this.spans += result.recorded
    this.rejectedSpans += result.rejected
    this.skippedSpans += result.skipped
  }

  snapshot(): { requests: number; spans: number; rejected_spans: number; skipped_spans: number } {
    return { requests: this.requests, spans: this.spans, rejected_spans: this.rejectedSpans, skipped_spans: this.skippedSpans }
  }
}
