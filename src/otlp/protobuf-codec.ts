import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

/** The vendored official definitions (proto/README.md); two levels up from both src/otlp and dist/otlp. */
const PROTO_DIR = fileURLToPath(new URL('../../src/otlp/proto/', import.meta.url))
const COMMON = 'opentelemetry.proto.common.v1.'
const TRACE = 'opentelemetry.proto.trace.v1.'
const COLLECTOR = 'opentelemetry.proto.collector.trace.v1.'

/**
 * The fields this door reads, per message type. Every other field is dropped
 * from the reflected types before protobufjs generates their decoders, so the
 * decoder skips its bytes (as it skips the unknown fields of a newer schema)
 * instead of building trace ids, events and links nobody reads: half the decode
 * time of an SDK's spans. Field numbers and types stay those of the official files.
 */
const READ_FIELDS: Record<string, readonly string[]> = {
  [`${COLLECTOR}ExportTraceServiceRequest`]: ['resourceSpans'],
  [`${TRACE}ResourceSpans`]: ['resource', 'scopeSpans'],
  'opentelemetry.proto.resource.v1.Resource': ['attributes'],
  [`${TRACE}ScopeSpans`]: ['spans'],
  [`${TRACE}Span`]: ['name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes', 'status'],
  [`${TRACE}Status`]: ['code'],
  [`${COMMON}KeyValue`]: ['key', 'value'],
  [`${COMMON}AnyValue`]: ['stringValue', 'intValue'],
}

/** A 64-bit integer as protobufjs decodes it (the `long` package). */
export interface Long {
  low: number
  high: number
  unsigned: boolean
}

/** The decoded request, as far as READ_FIELDS goes. Absent messages are null; absent scalars their defaults. */
export interface TraceRequest {
  resourceSpans: Array<{
    resource: { attributes: KeyValue[] } | null
    scopeSpans: Array<{ spans: Span[] }>
  }>
}
export interface Span {
  name: string
  kind: number
  startTimeUnixNano: Long
  endTimeUnixNano: Long
  attributes: KeyValue[]
  status: { code: number } | null
}
export interface KeyValue {
  key: string
  value: AnyValue | null
}
/** `value` names the member of the oneof that is set, if any. */
export interface AnyValue {
  value?: 'stringValue' | 'intValue'
  stringValue: string
  intValue: Long
}

/**
 * OTLP/HTTP's protobuf encoding, with protobufjs over the official
 * opentelemetry-proto definitions: decoding ExportTraceServiceRequest (the
 * fields READ_FIELDS names), encoding ExportTraceServiceResponse and the
 * google.rpc.Status that error answers carry.
 */
export class OtlpProtobufCodec {
  private readonly request: protobuf.Type
  private readonly response: protobuf.Type
  private readonly status: protobuf.Type

  constructor() {
    const root = new protobuf.Root()
    // google/protobuf/*.proto are built into protobufjs; everything else is vendored.
    root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : PROTO_DIR + target)
    root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto'])
    // The response types are encoded whole: only the request is cut down.
    this.response = root.lookupType(`${COLLECTOR}ExportTraceServiceResponse`)
    this.status = root.lookupType('google.rpc.Status')
    for (const [name, keep] of Object.entries(READ_FIELDS)) {
      const type = root.lookupType(name)
      for (const field of [...type.fieldsArray]) {
        if (keep.includes(field.name)) continue
        field.partOf?.remove(field)
        type.remove(field)
      }
    }
    root.resolveAll()
    this.request = root.lookupType(`${COLLECTOR}ExportTraceServiceRequest`)
  }

  /** Throws on bytes that are not an ExportTraceServiceRequest (truncated, bad wire types, invalid UTF-8, nesting past protobufjs's limit). */
  decodeRequest(body: Uint8Array): TraceRequest {
    return this.request.decode(body) as unknown as TraceRequest
  }

  /** An ExportTraceServiceResponse: empty on full success, partialSuccess otherwise. */
  encodeResponse(rejectedSpans: number, errorMessage: string): Buffer {
    const message = rejectedSpans === 0 && errorMessage === '' ? {} : { partialSuccess: { rejectedSpans, errorMessage } }
    return toBuffer(this.response.encode(this.response.fromObject(message)).finish())
  }

  /** A google.rpc.Status, the body of every OTLP/HTTP error answer. */
  encodeStatus(code: number, message: string): Buffer {
    return toBuffer(this.status.encode(this.status.fromObject({ code, message })).finish())
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
