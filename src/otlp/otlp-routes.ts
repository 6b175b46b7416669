import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { MetricStore } from '../store/metric-store.js'
import { readJsonSpans } from './json-spans.js'
import type { OtlpCounters } from './otlp-counters.js'
import { InvalidOtlpBodyError, UnsupportedOtlpMediaTypeError } from './otlp-errors.js'
import { ExportTraceRequestBody, JSON_TYPE, PROTOBUF, otlpResponses } from './otlp-schemas.js'
import { OtlpProtobufCodec } from './protobuf-codec.js'
import { addProtobufSpans } from './protobuf-spans.js'
import { SpanBatch } from './span-batch.js'
import { SpanKindFilter, type SpanKindName } from './span-kinds.js'

export interface OtlpRouteOptions {
  store: MetricStore
  counters: OtlpCounters
  /** The largest body, after gzip decoding. */
  maxBodyBytes: number
  /** The largest gzip body, as sent. */
  maxCompressedBytes: number
  spanKinds: readonly SpanKindName[]
}

/** gRPC codes for google.rpc.Status by HTTP status; exporters go by the HTTP status, so these only inform. */
const GRPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14 }
const GRPC_UNKNOWN = 2

/**
 * POST /v1/traces, OTLP/HTTP (opentelemetry-proto docs/specification.md): an
 * exporter's ExportTraceServiceRequest, protobuf or JSON, gzip or not, becomes
 * one latency sample per span (span-batch.ts says how). Everything here
 * answers in the request's encoding, errors included (a google.rpc.Status),
 * so this plugin has its own body parsers and error handler.
 */
export const otlpRoutes: FastifyPluginAsync<OtlpRouteOptions> = async (app, options) => {
  const { store, counters } = options
  const codec = new OtlpProtobufCodec()
  const kinds = new SpanKindFilter(options.spanKinds)
  const newBatch = () => new SpanBatch(kinds)

  // The body parsers decode the whole request before the handler records anything.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(PROTOBUF, { parseAs: 'buffer' }, (_request, body, done) => {
    let batch: SpanBatch
    try {
      batch = newBatch()
      addProtobufSpans(codec.decodeRequest(body as Buffer), batch)
    } catch (err) {
      return done(new InvalidOtlpBodyError('protobuf', (err as Error).message), undefined)
    }
    done(null, batch)
  })
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'buffer' }, (_request, body, done) => {
    let batch: SpanBatch
    try {
      batch = readJsonSpans(body as Buffer, newBatch)
    } catch (err) {
      return done(err as Error, undefined)
    }
    done(null, batch)
  })
  // Logged through app.log (the service's logger): request.log logs nothing unless request logs are on.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const code = err.statusCode
    // 4xx are the client's; 503 is overload (the app's request gate). Anything else is a bug.
    const status = code !== undefined && ((code >= 400 && code < 500) || code === 503) ? code : 500
    if (status === 500) app.log.error({ err }, 'request failed')
    else app.log.debug({ err }, 'client error')
    const message =
      status === 500
        ? 'Internal Server Error'
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'LT_MISSING_CONTENT_TYPE'
          ? new UnsupportedOtlpMediaTypeError(request.headers['content-type'] === undefined ? '(none)' : JSON.stringify(request.headers['content-type']))
              .message
          : err.message
    const grpc = GRPC_CODES[status] ?? GRPC_UNKNOWN
    reply.code(status)
    if (isProtobuf(request)) return reply.type(PROTOBUF).send(codec.encodeStatus(grpc, message))
    return reply.type(JSON_TYPE).send(JSON.stringify({ code: grpc, message }))
  })

  app.post(
    '/v1/traces',
    {
      bodyLimit: options.maxBodyBytes,
      config: { compressedBodyLimit: options.maxCompressedBytes },
      // The body parsers decode and check the body; the body schema is for the OpenAPI document.
      validatorCompiler: () => () => true,
      schema: {
        summary: 'Take OpenTelemetry spans (OTLP/HTTP): one latency sample per span, id <service.name>:<span name>',
        description:
          'The OTLP/HTTP trace endpoint: point any OpenTelemetry trace exporter here. Answers in the encoding of the request; rejected spans are reported in partialSuccess.',
        consumes: [PROTOBUF, JSON_TYPE],
        body: ExportTraceRequestBody,
        response: otlpResponses,
      },
    },
    (request, reply) => {
      // A SpanBatch from either body parser: a POST without Content-Type is answered 415 before (request-gate.ts).
      const result = (request.body as SpanBatch).record(store)
      counters.count(result)
      send(reply, isProtobuf(request), result.rejected, result.errorMessage)
    },
  )

  function send(reply: FastifyReply, protobuf: boolean, rejected: number, errorMessage: string): void {
    if (protobuf) {
      reply.type(PROTOBUF).send(codec.encodeResponse(rejected, errorMessage))
      return
    }
    const body = rejected === 0 ? '{}' : JSON.stringify({ partialSuccess: { rejectedSpans: String(rejected), errorMessage } })
    reply.type(JSON_TYPE).send(body)
  }
}

function isProtobuf(request: FastifyRequest): boolean {
  const type = request.headers['content-type']
  return type !== undefined && type.split(';', 1)[0].trim().toLowerCase() === PROTOBUF
}
