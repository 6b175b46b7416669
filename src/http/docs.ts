import { readFileSync } from 'node:fs'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { RETRY_AFTER_HEADER, WWW_AUTHENTICATE_HEADER, errorResponse } from './schemas/common.js'
import { READ_METHODS } from './bearer-auth.js'

/** Two levels up from both src/http and dist/http. */
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
  description: string
}

/**
 * Answers that come from hooks rather than from a route (bearer tokens,
 * overload), so they are added to every documented route here instead of to
 * each route schema. These schemas feed the document only: the hooks send them.
 */
const UNAUTHORIZED = {
  ...errorResponse(
    401,
    'Bearer token missing or wrong (only when AUTH_TOKEN is set)',
    'LT_UNAUTHORIZED',
    'bearer token missing: send Authorization: Bearer <token>',
  ),
  headers: WWW_AUTHENTICATE_HEADER,
}
const FORBIDDEN = errorResponse(
  403,
  'The read-only token cannot write or delete (only when READ_TOKEN is set)',
  'LT_FORBIDDEN',
  'the read-only token cannot be used for POST: writes and deletes need AUTH_TOKEN',
)
const OVERLOADED = {
  ...errorResponse(
    503,
    'Event-loop delay above MAX_EVENT_LOOP_DELAY_MS: retry after the Retry-After seconds',
    'LT_OVERLOADED',
    'the service is overloaded (event-loop delay above MAX_EVENT_LOOP_DELAY_MS): retry after 5 s',
  ),
  headers: RETRY_AFTER_HEADER,
}

/** Answers no operation below can list: to paths and methods that have none, and before a request reaches a route. */
const ANSWERS_OUTSIDE_OPERATIONS = [
  'Answers no operation below lists, each a JSON error {statusCode, code, error, message}:',
  'a method a path does not take is 405 LT_METHOD_NOT_ALLOWED with an Allow header (every GET path also answers HEAD),',
  'an unknown path 404 LT_ROUTE_NOT_FOUND.',
  'Before any route, and closing the connection after the answer: a request Node cannot parse is 400 with its code (HPE_…; chunk extensions past 16 KiB 413),',
  'one without Host 400 LT_MISSING_HOST, headers over 16 KiB 431, a request slower than the timeouts 408,',
  'an Expect other than 100-continue 417 LT_EXPECTATION_FAILED, CONNECT 405 LT_METHOD_NOT_ALLOWED (without Allow).',
].join(' ')

function addHookResponses({ schema, url, route }: { schema: FastifySchema; url: string; route: { method: string | string[] } }) {
  // /healthz needs no token and reports overload itself (its own 503).
  if (url === '/healthz') return { schema: { ...schema, security: [] }, url }
  const methods = typeof route.method === 'string' ? [route.method] : route.method
  const writes = methods.some((m) => !READ_METHODS.has(m))
  const response = { 401: UNAUTHORIZED, ...(writes ? { 403: FORBIDDEN } : {}), 503: OVERLOADED, ...(schema?.response as object) }
  return { schema: { ...schema, response }, url }
}

/**
 * With AUTH_TOKEN set, every route but /healthz needs a token: the document
 * declares the bearer scheme and requires it. Without, it declares none, so
 * Swagger UI shows no locks on an open service.
 */
function security(authRequired: boolean) {
  if (!authRequired) return {}
  return {
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http' as const, scheme: 'bearer', description: 'AUTH_TOKEN for everything, READ_TOKEN for GET only' },
      },
    },
    security: [{ bearerAuth: [] }],
  }
}

/**
 * OpenAPI 3.1 document built by @fastify/swagger from the TypeBox route schemas
 * (3.1 because its schemas are JSON Schema: `examples` arrays and `type: [number, null]`
 * stay as written), served by @fastify/swagger-ui at /docs, JSON at /docs/json.
 * Registered before the routes so its onRoute hook sees them all. Neither plugin
 * adds a hook to other routes: @fastify/swagger only collects routes at startup
 * and builds the document on the first /docs/json, and the UI's routes and
 * static files live in their own encapsulated context.
 */
export function registerDocs(app: FastifyInstance, authRequired: boolean): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'latency-tracker', version: pkg.version, description: `${pkg.description}\n\n${ANSWERS_OUTSIDE_OPERATIONS}` },
      ...security(authRequired),
    },
    transform: addHookResponses,
  })
  app.register(swaggerUi, { routePrefix: '/docs' })
}
