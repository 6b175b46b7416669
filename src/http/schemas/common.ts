import { STATUS_CODES } from 'node:http'
import { Type } from '@sinclair/typebox'
import { METRIC_ID_PATTERN } from '../../store/ingest.js'

export const MetricIdParams = Type.Object(
  {
    id: Type.String({
      pattern: METRIC_ID_PATTERN,
      description: 'Metric id: 1–128 characters from A-Z a-z 0-9 _ . : -',
      examples: ['checkout'],
    }),
  },
  { additionalProperties: false },
)

/** number-or-null as a JSON Schema type list, which fast-json-stringify serializes without trial validation. */
export const NullableNumber = Type.Unsafe<number | null>({ type: ['number', 'null'] })

const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer({ examples: [400] }),
    code: Type.Optional(Type.String({ examples: ['FST_ERR_VALIDATION'] })),
    error: Type.String({ examples: ['Bad Request'] }),
    message: Type.String({ examples: ['body/latency_ns must be >= 1'] }),
  },
  { description: 'Error' },
)

/**
 * Response headers the service sends, for the OpenAPI document: @fastify/swagger
 * turns `headers` on a response schema into the response's header objects.
 */
export const RETRY_AFTER_HEADER = {
  'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying', examples: [5] },
}
export const WWW_AUTHENTICATE_HEADER = {
  'WWW-Authenticate': { type: 'string', description: 'How to authenticate: a bearer token', examples: ['Bearer realm="latency-tracker"'] },
}

/**
 * ErrorResponse with a one-line description and an example for one status, for
 * the OpenAPI document (the serialized shape is the same for every status).
 */
export function errorResponse(statusCode: number, description: string, code: string, message: string) {
  return {
    ...ErrorResponse,
    description,
    examples: [{ statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }],
  }
}

export const InvalidIdError = errorResponse(
  400,
  'Invalid metric id (1–128 characters from A-Z a-z 0-9 _ . : -)',
  'FST_ERR_VALIDATION',
  'params/id must match pattern "^[A-Za-z0-9_.:-]{1,128}$"',
)
export const InvalidReadError = errorResponse(
  400,
  'Invalid id or query: window_ms, quantiles, status, le_ns, step_ms (series) or format (GET /metrics)',
  'LT_BAD_QUERY',
  'window_ms must be an integer from 1 to 60000, got "0"',
)
export const InvalidLatencyError = errorResponse(400, 'Invalid id or body: nothing was stored', 'FST_ERR_VALIDATION', 'body/latency_ns must be >= 1')
export const InvalidJobError = errorResponse(
  400,
  'Invalid id or body: nothing was counted',
  'FST_ERR_VALIDATION',
  'body/event must be equal to one of the allowed values: created, started, completed, failed, retried',
)
/** A DELETE needs no body, but one that is sent is read as JSON all the same (json-body.ts). */
export const DeleteBodyError = errorResponse(
  400,
  'Invalid metric id, or a body that is not JSON (a DELETE needs none)',
  'LT_INVALID_JSON',
  'body is not valid JSON: Unexpected token \'g\', "g" is not valid JSON',
)
export const MetricNotFoundResponse = errorResponse(404, 'No metric with this id', 'LT_METRIC_NOT_FOUND', 'metric "checkout" does not exist')
export const BodyTooLargeResponse = errorResponse(413, 'Body larger than 1 MiB', 'FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large')
export const UnsupportedMediaTypeResponse = errorResponse(
  415,
  'Content-Type missing or not application/json, or a Content-Encoding other than gzip (LT_UNSUPPORTED_CONTENT_ENCODING)',
  'FST_ERR_CTP_INVALID_MEDIA_TYPE',
  'content-type "text/plain" is not supported: send the body as application/json',
)
export const MetricLimitResponse = errorResponse(
  429,
  'A new id would pass MAX_METRICS (existing ids keep working)',
  'LT_METRIC_LIMIT',
  'cannot create metric "checkout": MAX_METRICS (10000) metrics already exist; existing ids keep working',
)
