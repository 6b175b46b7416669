import { MAX_BATCH, MAX_ID_LENGTH } from '../store/ingest.js'
import type { MetricStore } from '../store/metric-store.js'
import { MAX_LATENCY_NS, MAX_STATUS, NO_STATUS } from '../store/sample-layout.js'
import type { SpanKindFilter } from './span-kinds.js'

/** The resource attribute that names the service. */
export const SERVICE_NAME_KEY = 'service.name'
/** The span attributes that carry an HTTP status: the current one, and the older one read when it is absent. */
export const HTTP_STATUS_KEY = 'http.response.status_code'
export const LEGACY_HTTP_STATUS_KEY = 'http.status_code'
/** service.name when the resource has none, as the OpenTelemetry SDKs default it. */
export const UNKNOWN_SERVICE = 'unknown_service'
/** Span status code ERROR (opentelemetry.proto.trace.v1.Status.StatusCode). */
export const STATUS_CODE_ERROR = 2
/** The sample status of a span in error that carries no HTTP status. */
const ERROR_STATUS = 500

const NOT_IN_ID = /[^A-Za-z0-9_.:-]/gu

/**
 * The start of `text` as it appears in a metric id: every code point outside
 * the id's characters becomes one `_`, cut to MAX_ID_LENGTH characters. Only
 * the first 2 × MAX_ID_LENGTH UTF-16 units are looked at (they hold at least
 * that many code points): a request's work stays proportional to its size
 * however long a name is, and however many spans repeat it.
 */
function idPart(text: string): string {
  return text
    .slice(0, 2 * MAX_ID_LENGTH)
    .replace(NOT_IN_ID, '_')
    .slice(0, MAX_ID_LENGTH)
}

type RejectReason = 'end-before-start' | 'zero-duration' | 'too-long' | 'bad-status' | 'metric-limit' | 'store'

const REASON_TEXT: Record<Exclude<RejectReason, 'store'>, string> = {
  'end-before-start': 'end before start',
  'zero-duration': 'duration 0 ns (or no start and end times)',
  'too-long': `duration over ${MAX_LATENCY_NS} ns`,
  'bad-status': `HTTP status attribute outside 0..${MAX_STATUS}`,
  'metric-limit': 'a new metric id while MAX_METRICS ids exist',
}

/** The spans of one id in one request, split by whether they have a status (the store takes one or the other per call). */
interface SpanGroup {
  readonly id: string
  readonly latencies: number[]
  readonly statusLatencies: number[]
  readonly statuses: number[]
}

interface Rejections {
  count: number
  /** The id of the first span rejected for this reason, or the store's own message. */
  example: string
}

export interface BatchResult {
  recorded: number
  rejected: number
  skipped: number
  /** Why spans were rejected, for partialSuccess.errorMessage; empty when none was. */
  errorMessage: string
}

/**
 * The spans of one export request, grouped by metric id, then recorded with
 * one store.ingestSamples call per id (and per status/no-status half), so that
 * a batch of 512 spans of a few operations costs a few calls, not 512.
 *
 * The decoders (protobuf-spans.ts, json-spans.ts) walk the request and call
 * startResource once per resource and addSpan once per span; nothing reaches
 * the store until the whole body has been decoded, so a body that turns out
 * to be malformed half-way stores nothing.
 */
export class SpanBatch {
  private readonly groups = new Map<string, SpanGroup>()
  /** Span name -> group, for the current resource: one lookup per span instead of building its id. */
  private byName = new Map<string, SpanGroup>()
  /** The resource's service.name as it begins every id (idPart): cleaned once per resource, not once per span name. */
  private serviceIdPart = UNKNOWN_SERVICE
  private skipped = 0
  private readonly rejections = new Map<RejectReason, Rejections>()

  constructor(private readonly kinds: SpanKindFilter) {}

  /** The spans that follow belong to a resource with this service.name (undefined or empty: unknown_service). */
  startResource(serviceName: string | undefined): void {
    this.serviceIdPart = idPart(serviceName === undefined || serviceName === '' ? UNKNOWN_SERVICE : serviceName)
    this.byName = new Map()
  }

  /**
   * One span. `durationNs` is end − start: exact when within ±2^53, otherwise
   * any number beyond with the right sign. `httpStatus` is the span's integer
   * HTTP status attribute, NaN when it has none.
   */
  addSpan(name: string, kind: number, durationNs: number, httpStatus: number, statusCode: number): void {
    if (!this.kinds.accepts(kind)) {
      this.skipped++
      return
    }
    const group = this.groupOf(name)
    if (!(durationNs >= 1)) return this.reject(durationNs < 0 ? 'end-before-start' : 'zero-duration', group.id)
    if (durationNs > MAX_LATENCY_NS) return this.reject('too-long', group.id)
    if (!Number.isNaN(httpStatus)) {
      if (!(httpStatus >= 0 && httpStatus <= MAX_STATUS)) return this.reject('bad-status', group.id)
      group.statusLatencies.push(durationNs)
      group.statuses.push(httpStatus)
    } else if (statusCode === STATUS_CODE_ERROR) {
      group.statusLatencies.push(durationNs)
      group.statuses.push(ERROR_STATUS)
    } else {
      group.latencies.push(durationNs)
    }
  }

  /** Records every span not rejected yet, at the store's current time; a refusal of the store rejects that call's spans. */
  record(store: MetricStore): BatchResult {
    // The spans arrived together: one clock reading stamps them all.
    const recorded = store.arrivingTogether(() => {
      let sum = 0
      for (const group of this.groups.values()) {
        sum += this.ingest(store, group.id, group.statusLatencies, group.statuses)
        sum += this.ingest(store, group.id, group.latencies, NO_STATUS)
      }
      return sum
    })
    let rejected = 0
    const parts: string[] = []
    for (const [reason, r] of this.rejections) {
      rejected += r.count
      parts.push(reason === 'store' ? `refused by the store: ${r.count} (first: ${r.example})` : `${REASON_TEXT[reason]}: ${r.count} (first: "${r.example}")`)
    }
    const errorMessage = rejected === 0 ? '' : `${rejected} of ${recorded + rejected} spans rejected: ${parts.join('; ')}`
    return { recorded, rejected, skipped: this.skipped, errorMessage }
  }

  private ingest(store: MetricStore, id: string, latencies: number[], statuses: number[] | number): number {
    let recorded = 0
    for (let from = 0; from < latencies.length; from += MAX_BATCH) {
      const whole = from === 0 && latencies.length <= MAX_BATCH
      const part = whole ? latencies : latencies.slice(from, from + MAX_BATCH)
      const partStatuses = typeof statuses === 'number' || whole ? statuses : statuses.slice(from, from + MAX_BATCH)
      const accepted = store.ingestSamples(id, part, partStatuses)
      if (typeof accepted === 'number') recorded += accepted
      // Only a full store is expected here (every span was checked); anything else is reported as the store said it.
      else if (accepted.reason === 'metric-limit') this.reject('metric-limit', id, part.length)
      else this.reject('store', accepted.message, part.length)
    }
    return recorded
  }

  private groupOf(name: string): SpanGroup {
    let group = this.byName.get(name)
    if (group === undefined) {
      // `<service.name>:<span name>`, other characters as `_`, at most MAX_ID_LENGTH characters.
      const id = `${this.serviceIdPart}:${idPart(name)}`.slice(0, MAX_ID_LENGTH)
      group = this.groups.get(id)
      if (group === undefined) {
        group = { id, latencies: [], statusLatencies: [], statuses: [] }
        this.groups.set(id, group)
      }
      this.byName.set(name, group)
    }
    return group
  }

  private reject(reason: RejectReason, example: string, count = 1): void {
    const r = this.rejections.get(reason)
    if (r === undefined) this.rejections.set(reason, { count, example })
    else r.count += count
  }
}
