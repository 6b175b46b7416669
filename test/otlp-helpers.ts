import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import protobuf from 'protobufjs'

/**
 * Test bodies for POST /v1/traces, built from the complete official
 * definitions (none of the service's field cuts), and the answers decoded the
 * same way: what an exporter sends and reads.
 */
const PROTO_DIR = fileURLToPath(new URL('../src/otlp/proto/', import.meta.url))

export function officialTypes() {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : PROTO_DIR + target)
  root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto'])
  return {
    root,
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    status: root.lookupType('google.rpc.Status'),
  }
}

const TYPES = officialTypes()

/** A span in the OTLP JSON mapping; also what encodeProtobuf takes (protobufjs reads int64 strings exactly). */
export interface JsonSpan {
  name?: string
  kind?: number
  startTimeUnixNano?: string | number
  endTimeUnixNano?: string | number
  attributes?: Array<{ key: string; value: Record<string, unknown> }>
  status?: { code?: number; message?: string }
  [other: string]: unknown
}

export const T0 = 1_764_460_800_000_000_000n

/** A span that starts at T0 + offset and lasts `durationNs`, with optional extras. */
export function span(name: string, durationNs: bigint | number, extra: Partial<JsonSpan> = {}, offset = 0n): JsonSpan {
  const start = T0 + offset
  return {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    name,
    kind: 2,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(durationNs)),
    ...extra,
  }
}

export const intAttribute = (key: string, value: number | string) => ({ key, value: { intValue: String(value) } })
export const stringAttribute = (key: string, value: string) => ({ key, value: { stringValue: value } })

/** An ExportTraceServiceRequest with one resource per entry. */
export function traceRequest(resources: Array<{ service?: string; spans: JsonSpan[] }>) {
  return {
    resourceSpans: resources.map(({ service, spans }) => ({
      resource: { attributes: service === undefined ? [] : [stringAttribute('service.name', service)] },
      scopeSpans: [{ scope: { name: 'test', version: '1' }, spans }],
    })),
  }
}

/** Hex ids become bytes, as the JSON mapping says; everything else goes through protobufjs's fromObject. */
export function encodeProtobuf(request: ReturnType<typeof traceRequest>): Buffer {
  const withBytes = JSON.parse(JSON.stringify(request), (key, value) =>
    (key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof value === 'string' ? Buffer.from(value, 'hex') : value,
  )
  return Buffer.from(TYPES.request.encode(TYPES.request.fromObject(withBytes)).finish())
}

export function decodeProtobufResponse(body: Buffer): { partialSuccess?: { rejectedSpans: string; errorMessage: string } } {
  return TYPES.response.toObject(TYPES.response.decode(body), { longs: String })
}

export function decodeProtobufStatus(body: Buffer): { code?: number; message: string } {
  return TYPES.status.toObject(TYPES.status.decode(body)) as never
}

export const PROTOBUF = 'application/x-protobuf'

export function postTraces(app: FastifyInstance, contentType: string, payload: Buffer | string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': contentType, ...headers }, payload })
}

/** The id the contract gives a span: characters outside A-Z a-z 0-9 _ . : - become _, cut at 128. */
export function expectedId(service: string, name: string): string {
  return [...`${service}:${name}`]
    .map((c) => (/^[A-Za-z0-9_.:-]$/.test(c) ? c : '_'))
    .join('')
    .slice(0, 128)
}

export async function snapshotOf(app: FastifyInstance, id: string) {
  const res = await app.inject({ method: 'GET', url: `/metrics/${encodeURIComponent(id)}` })
  return res.statusCode === 200 ? res.json() : undefined
}

export async function serviceOf(app: FastifyInstance) {
  return (await app.inject({ method: 'GET', url: '/metrics' })).json().service
}
