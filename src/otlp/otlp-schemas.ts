import { Type } from '@sinclair/typebox'
import { RETRY_AFTER_HEADER, WWW_AUTHENTICATE_HEADER } from '../http/schemas/common.js'

/** Exporters send these; the door answers in the one the request used. */
export const PROTOBUF = 'application/x-protobuf'
export const JSON_TYPE = 'application/json'

const Binary = (description: string) => Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description, examples: ['(binary protobuf)'] })

const EXAMPLE_REQUEST = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
      scopeSpans: [
        {
          scope: { name: '@opentelemetry/instrumentation-http' },
          spans: [
            {
              traceId: '5b8efff798038103d269b633813fc60c',
              spanId: 'eee19b7ec3c1b174',
              name: 'POST /orders',
              kind: 2,
              startTimeUnixNano: '1764460800000000000',
              endTimeUnixNano: '1764460800012500000',
              attributes: [{ key: 'http.response.status_code', value: { intValue: '201' } }],
              status: {},
            },
          ],
        },
      ],
    },
  ],
}

export const ExportTraceRequestBody = Type.Unsafe<unknown>({
  type: 'object',
  description:
    'An ExportTraceServiceRequest: binary protobuf (application/x-protobuf) or the OTLP JSON mapping (application/json, shown); Content-Encoding: gzip allowed',
  properties: {
    resourceSpans: {
      type: 'array',
      description: 'Spans by resource (service.name comes from resource.attributes) and instrumentation scope',
    },
  },
  examples: [EXAMPLE_REQUEST],
})

const ExportTraceResponseJson = Type.Object(
  {
    partialSuccess: Type.Optional(
      Type.Object({
        rejectedSpans: Type.String({ description: 'Spans not recorded (an int64, as a decimal string)' }),
        errorMessage: Type.String({ description: 'Why, by reason, with the first span of each' }),
      }),
    ),
  },
  {
    description: 'ExportTraceServiceResponse; partialSuccess only when spans were rejected',
    examples: [
      {},
      {
        partialSuccess: {
          rejectedSpans: '1',
          errorMessage: '1 of 512 spans rejected: end before start: 1 (first: "checkout:POST__orders")',
        },
      },
    ],
  },
)

/** google.rpc.Status in JSON: the body of every error answer to a JSON request. */
const StatusJson = (code: number, message: string) =>
  Type.Object(
    {
      code: Type.Integer({ description: 'gRPC status code (informative: exporters go by the HTTP status)' }),
      message: Type.String(),
    },
    { description: 'google.rpc.Status', examples: [{ code, message }] },
  )

const errorAnswer = (description: string, code: number, message: string) => ({
  description,
  content: {
    [JSON_TYPE]: { schema: StatusJson(code, message) },
    [PROTOBUF]: { schema: Binary('google.rpc.Status') },
  },
})

export const otlpResponses = {
  200: {
    description: 'Every span was decoded; those not rejected are recorded (partialSuccess says how many were rejected, and why)',
    content: {
      [JSON_TYPE]: { schema: ExportTraceResponseJson },
      [PROTOBUF]: { schema: Binary('ExportTraceServiceResponse') },
    },
  },
  400: errorAnswer(
    'The body is not an ExportTraceServiceRequest in its content type (not retried by exporters)',
    3,
    'body is not a valid OTLP protobuf ExportTraceServiceRequest: index out of range: 17 + 10 > 20',
  ),
  401: {
    ...errorAnswer('Bearer token missing or wrong (only when AUTH_TOKEN is set)', 16, 'bearer token missing: send Authorization: Bearer <token>'),
    headers: WWW_AUTHENTICATE_HEADER,
  },
  403: errorAnswer(
    'The read-only token cannot send spans (only when READ_TOKEN is set)',
    7,
    'the read-only token cannot be used for POST: writes and deletes need AUTH_TOKEN',
  ),
  413: errorAnswer('Body larger than OTLP_MAX_BODY_BYTES (decoded) or OTLP_MAX_COMPRESSED_BYTES (gzip, as sent)', 8, 'Request body is too large'),
  415: errorAnswer(
    'Content-Type not application/x-protobuf or application/json, or a Content-Encoding other than gzip',
    3,
    'content-type "text/plain" is not supported: send OTLP as application/x-protobuf or application/json',
  ),
  503: {
    ...errorAnswer(
      'Event-loop delay above MAX_EVENT_LOOP_DELAY_MS: exporters retry after the Retry-After seconds',
      14,
      'the service is overloaded (event-loop delay above MAX_EVENT_LOOP_DELAY_MS): retry after 5 s',
    ),
    headers: RETRY_AFTER_HEADER,
  },
}
