import createError from '@fastify/error'
import type { IngestRefusal } from '../store/ingest.js'

/**
 * Every error code the service answers with, in one place. Fastify's own codes
 * (FST_ERR_VALIDATION, FST_ERR_CTP_*) cover malformed bodies, bad media types
 * and oversize bodies; these cover the rest of the contract.
 */
export const MetricNotFoundError = createError<[string]>('LT_METRIC_NOT_FOUND', 'metric "%s" does not exist', 404)

/** A new id while MAX_METRICS ids exist; the message is the store's. */
const MetricLimitError = createError<[string]>('LT_METRIC_LIMIT', '%s', 429)

/** Input the domain ingest API refused (ingest.ts) that the body schema let through. */
const InvalidInputError = createError<[string]>('LT_INVALID_INPUT', '%s', 400)

/** The event loop is overloaded (request-gate.ts): retry later. */
export const OverloadedError = createError<[number]>(
  'LT_OVERLOADED',
  'the service is overloaded (event-loop delay above MAX_EVENT_LOOP_DELAY_MS): retry after %d s',
  503,
)

export const BadQueryError = createError<[string]>('LT_BAD_QUERY', '%s', 400)

export const MissingContentTypeError = createError('LT_MISSING_CONTENT_TYPE', 'a Content-Type header is required: send the body as application/json', 415)

export const UnauthorizedError = createError<[string]>('LT_UNAUTHORIZED', 'bearer token %s: send Authorization: Bearer <token>', 401)

export const ForbiddenError = createError<[string]>('LT_FORBIDDEN', 'the read-only token cannot be used for %s: writes and deletes need AUTH_TOKEN', 403)

export const InvalidJsonError = createError<[string]>('LT_INVALID_JSON', 'body is not valid JSON: %s', 400)

/** A bug of the service's own (logged at error): answered without internals, but in the same shape. */
export const INTERNAL_ERROR_CODE = 'LT_INTERNAL_ERROR'

/** The HTTP answer to a refusal of the domain ingest API: 429 for a full store, 400 for anything else. */
export function refusalError(refusal: IngestRefusal): Error {
  return refusal.reason === 'metric-limit' ? new MetricLimitError(refusal.message) : new InvalidInputError(refusal.message)
}

/** No route has this path (a metric id that does not exist is LT_METRIC_NOT_FOUND). */
export const RouteNotFoundError = createError<[string, string]>('LT_ROUTE_NOT_FOUND', 'no route %s %s: the API is described at /docs', 404)

/** The path exists under other methods, which the Allow header names. */
export const MethodNotAllowedError = createError<[string, string, string]>('LT_METHOD_NOT_ALLOWED', '%s is not allowed on %s: use %s', 405)
