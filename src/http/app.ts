import { STATUS_CODES, type Server } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyHttpOptions,
} from 'fastify'
import type { LogLevel } from '../config.js'
import { DEFAULT_OTLP_MAX_BODY_BYTES, DEFAULT_OTLP_MAX_COMPRESSED_BYTES } from '../otlp/otlp-limits.js'
import { OtlpCounters } from '../otlp/otlp-counters.js'
import { otlpRoutes } from '../otlp/otlp-routes.js'
import { SPAN_KINDS, type SpanKindName } from '../otlp/span-kinds.js'
import type { MetricStore } from '../store/metric-store.js'
import type { StateSaveStatus } from '../store/state-persistence.js'
import type { StatsdCounters } from '../statsd/statsd-counters.js'
import { routeValidators } from './validators.js'
import { type TokenOptions, tokenCheck } from './bearer-auth.js'
import { clientErrorHandler, refuseExpectationsAndConnect, refuseRequestsWithoutHost } from './client-errors.js'
import { dashboardRoutes } from './dashboard.js'
import { registerDocs } from './docs.js'
import { INTERNAL_ERROR_CODE } from './errors.js'
import { parseJsonBodies } from './json-body.js'
import { answerUnknownRoutes } from './not-found.js'
import { OverloadMonitor } from './overload.js'
import { requestTracker } from './request-counters.js'
import { gateRequests } from './request-gate.js'
import { healthRoutes } from './routes/health.js'
import { jobRoutes } from './routes/jobs.js'
import { latencyRoutes } from './routes/latency.js'
import { metricRoutes } from './routes/metrics.js'
import { formatValidationErrors } from './validation-message.js'

export interface AppOptions extends TokenOptions {
  logLevel?: LogLevel
  /** Idle metrics are removed after this long (reported under service.limits); 0 or unset: never. */
  idleTtlMs?: number
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  /** 503 with Retry-After while event-loop delay is above this; 0 or unset: never. */
  maxEventLoopDelayMs?: number
  /** The service's logger (logger.ts); without one, the app logs nothing. */
  logger?: FastifyBaseLogger
  /** How saving STATE_FILE goes, reported by GET /metrics and /healthz; unset without a state file. */
  stateSaves?: StateSaveStatus
  /** The StatsD door's counters, reported by GET /metrics; unset when the door is off. */
  statsdCounters?: StatsdCounters
  /** 'off': no dashboard at /. */
  dashboard?: 'on' | 'off'
  /** POST /v1/traces: the largest body after gzip decoding, the largest gzip body as sent, the span kinds recorded. */
  otlpMaxBodyBytes?: number
  otlpMaxCompressedBytes?: number
  otlpSpanKinds?: readonly SpanKindName[]
}

export const BODY_LIMIT = 1024 * 1024

/**
 * The HTTP door: builds the Fastify app over a store it does not own (the
 * composition root, service.ts, starts and stops both). Several Fastify defaults
 * conflict with it and are changed here: ids run to 128 characters (maxParamLength
 * is 100 by default), "123" must not pass as a number (Ajv coerces by default),
 * unknown fields must be refused rather than stripped, and text/plain bodies are
 * a 415 (a text parser is registered by default).
 */
export function buildApp(store: MetricStore, options: AppOptions = {}): FastifyInstance {
  const level = options.logLevel ?? 'info'
  const requestLogs = level === 'debug' || level === 'trace'
  const track = requestTracker(store.service)
  const timeouts = { headersTimeoutMs: options.headersTimeoutMs ?? 10_000, requestTimeoutMs: options.requestTimeoutMs ?? 30_000 }
  const fastifyOptions: FastifyHttpOptions<Server> = {
    // pino's per-request logs halve throughput, so they come only with debug: then
    // Fastify gets the logger. Otherwise Fastify has none: with one, it listens to every
    // response's 'finish' to log it, request logs off or not, and a childLoggerFactory of
    // our own would be called for every request (each measurable in bench S1-CPU). Errors
    // are logged through app.log, the service's logger either way (errorHandler).
    ...(requestLogs && options.logger !== undefined ? { loggerInstance: options.logger } : {}),
    // Unbounded, so that every over-long id reaches the schema (400): past the limit the
    // router answers 414 itself, with a mismatched "Bad Request" and no onRequest hooks.
    // Node's header size limit (16 KiB) already bounds a URL from a socket.
    routerOptions: { maxParamLength: Number.MAX_SAFE_INTEGER },
    bodyLimit: BODY_LIMIT,
    // Slow clients: headers and whole requests that trickle in are cut off. Node
    // enforces both only when it checks its connections, so check every second.
    // requireHostHeader: a request without Host is answered by refuseRequestsWithoutHost.
    // requestTimeout goes to Node with headersTimeout: Node refuses a headersTimeout above
    // the requestTimeout it is given (300 s unless told), before Fastify sets its own.
    http: {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      connectionsCheckingInterval: 1_000,
      requireHostHeader: false,
    },
    requestTimeout: timeouts.requestTimeoutMs,
    // One inactivity timeout per connection, refreshed by every read and write: it closes
    // idle keep-alive connections and ones stuck mid-response (a client that stops
    // reading) alike. No keepAliveTimeout (set to 0 below): Node would re-arm a socket
    // timer twice per request with it (after each response, and back at the next
    // request), about 2 us of CPU per request side by side in bench S1-CPU.
    connectionTimeout: IDLE_CONNECTION_TIMEOUT_MS,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: true } },
    schemaController: { compilersFactory: routeValidators },
    schemaErrorFormatter: formatValidationErrors,
    // URLs the router itself rejects (malformed percent-encoding) skip every hook:
    // count them here and answer in the same JSON shape as every other error.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      track(reply.raw)
      const status = err.statusCode ?? 400
      reply.code(status).send({ statusCode: status, code: err.code, error: STATUS_CODES[status], message: err.message })
    },
    // Requests Node's parser refuses (or that time out) never reach the router: answered and counted there.
    clientErrorHandler: clientErrorHandler(store.service, timeouts),
  }
  const app = Fastify(fastifyOptions).withTypeProvider<TypeBoxTypeProvider>()
  // Here, not in the options: Fastify takes a keepAliveTimeout of 0 for "unset" (its default is 72 s).
  app.server.keepAliveTimeout = 0
  // Without request logs Fastify has no logger of its own (request.log logs nothing); app.log is the service's all the same.
  if (options.logger !== undefined) app.log = options.logger
  refuseRequestsWithoutHost(app.server, track)
  refuseExpectationsAndConnect(app.server, store.service, track)
  app.decorate('store', store)
  app.removeContentTypeParser('text/plain')
  parseJsonBodies(app)
  const overload = new OverloadMonitor(options.maxEventLoopDelayMs ?? 0)
  app.decorate('isUnderPressure', () => overload.overloaded)
  app.addHook('onClose', async () => overload.stop())
  gateRequests(app, { track, overload, retryAfterS: OVERLOAD_RETRY_AFTER_S, checkToken: tokenCheck(options) })
  app.setErrorHandler(errorHandler)
  answerUnknownRoutes(app)
  registerDocs(app, options.authToken !== undefined)
  app.register(healthRoutes, { retryAfterS: OVERLOAD_RETRY_AFTER_S, stateSaves: options.stateSaves })
  const otlpCounters = new OtlpCounters()
  app.register(metricRoutes, { store, idleTtlMs: options.idleTtlMs ?? 0, statsd: options.statsdCounters, stateSaves: options.stateSaves, otlp: otlpCounters })
  app.register(latencyRoutes, { store })
  app.register(jobRoutes, { store })
  app.register(otlpRoutes, {
    store,
    counters: otlpCounters,
    maxBodyBytes: options.otlpMaxBodyBytes ?? DEFAULT_OTLP_MAX_BODY_BYTES,
    maxCompressedBytes: options.otlpMaxCompressedBytes ?? DEFAULT_OTLP_MAX_COMPRESSED_BYTES,
    spanKinds: options.otlpSpanKinds ?? SPAN_KINDS,
  })
  if (options.dashboard !== 'off') app.register(dashboardRoutes)
  return app
}

/** Connections with no traffic for this long are closed (above the 60 s idle timeout of common load balancers). */
const IDLE_CONNECTION_TIMEOUT_MS = 65_000

/** Seconds an overloaded service asks clients to wait (Retry-After). */
const OVERLOAD_RETRY_AFTER_S = 5

/**
 * Fastify's error shape, {statusCode, code, error, message}. Client errors are
 * logged at debug (a flood of bad requests must not become a flood of logs);
 * anything else is a bug, logged at error and answered without internals.
 * Logged through the app's logger (`this.log`): request.log logs nothing unless request logs are on.
 */
function errorHandler(this: FastifyInstance, err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const code = err.statusCode
  // 4xx are the client's; 503 is overload (request-gate.ts), said as such. Anything else is a bug.
  const status = code !== undefined && ((code >= 400 && code < 500) || code === 503) ? code : 500
  if (status === 500) {
    this.log.error({ err }, 'request failed')
    return reply.code(500).send({ statusCode: 500, code: INTERNAL_ERROR_CODE, error: STATUS_CODES[500], message: 'Internal Server Error' })
  }
  this.log.debug({ err }, 'client error')
  const message =
    err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
      ? request.headers['content-type'] === undefined
        ? 'a body without content-type: send it as application/json'
        : `content-type ${JSON.stringify(request.headers['content-type'])} is not supported: send the body as application/json`
      : err.message
  return reply.code(status).send({ statusCode: status, code: err.code, error: STATUS_CODES[status], message })
}

declare module 'fastify' {
  interface FastifyInstance {
    store: MetricStore
    /** Whether the event loop is overloaded now (overload.ts). */
    isUnderPressure(): boolean
  }
}
