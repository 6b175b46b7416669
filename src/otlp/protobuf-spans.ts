import type { KeyValue, Long, TraceRequest } from './protobuf-codec.js'
import { HTTP_STATUS_KEY, LEGACY_HTTP_STATUS_KEY, SERVICE_NAME_KEY, type SpanBatch } from './span-batch.js'

const TWO_32 = 4294967296

/** Adds every span of a decoded protobuf request to the batch. */
export function addProtobufSpans(request: TraceRequest, batch: SpanBatch): void {
  for (const resourceSpans of request.resourceSpans) {
    batch.startResource(serviceName(resourceSpans.resource?.attributes))
    for (const scopeSpans of resourceSpans.scopeSpans) {
      for (const span of scopeSpans.spans) {
        batch.addSpan(span.name, span.kind, duration(span.startTimeUnixNano, span.endTimeUnixNano), httpStatus(span.attributes), span.status?.code ?? 0)
      }
    }
  }
}

/**
 * end − start of two unsigned 64-bit times, as a double: the difference of the
 * high words times 2^32 is exact, and so is the sum of it and the difference of
 * the low words whenever the true result is within ±2^53. Beyond, rounding
 * keeps it beyond, with its sign: a duration too long or negative is seen as such.
 */
function duration(start: Long, end: Long): number {
  return ((end.high >>> 0) - (start.high >>> 0)) * TWO_32 + ((end.low >>> 0) - (start.low >>> 0))
}

function serviceName(attributes: KeyValue[] | undefined): string | undefined {
  if (attributes === undefined) return undefined
  for (const { key, value } of attributes) {
    if (key === SERVICE_NAME_KEY && value?.value === 'stringValue') return value.stringValue
  }
  return undefined
}

/** The integer http.response.status_code, else the integer http.status_code, else NaN. */
function httpStatus(attributes: KeyValue[]): number {
  let legacy = NaN
  for (const { key, value } of attributes) {
    if (value?.value !== 'intValue') continue
    if (key === HTTP_STATUS_KEY) return signed(value.intValue)
    if (key === LEGACY_HTTP_STATUS_KEY) legacy = signed(value.intValue)
  }
  return legacy
}

/** A signed 64-bit integer as a double (exact within ±2^53, which holds every valid status). */
function signed(v: Long): number {
  return (v.unsigned ? v.high >>> 0 : v.high | 0) * TWO_32 + (v.low >>> 0)
}
