import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MissingContentTypeError, OverloadedError } from './errors.js'
import type { OverloadMonitor } from './overload.js'
import type { RequestTracker } from './request-counters.js'

/** Routes served while overloaded: the health check says so itself. */
const ALWAYS_SERVED = '/healthz'

/**
 * The one onRequest hook every request passes first: it counts the request
 * (request-counters.ts); while the event loop is overloaded it answers 503 with
 * Retry-After instead of queueing work without bound; and it answers 415 to a
 * POST without Content-Type (every POST route takes a body). Fastify itself
 * answers 415 to a body of a type no parser takes, but hands a POST without the
 * header and without a body to validation, whose answer would be a 400.
 *
 * One hook rather than one per concern: each hook is a step of Fastify's hook
 * runner per request, measurable on the single-sample ingest path (bench S1-CPU).
 * With bearer tokens, their hook (bearer-auth.ts) checks the Content-Type after
 * the token instead (`checkContentType` false): a caller without a valid token
 * gets 401, whatever it sent.
 */
export function gateRequests(app: FastifyInstance, track: RequestTracker, overload: OverloadMonitor, retryAfterS: number, checkContentType: boolean): void {
  app.addHook('onRequest', (request, reply, done) => {
    track(reply.raw)
    if (overload.overloaded && request.routeOptions.url !== ALWAYS_SERVED) {
      reply.header('retry-after', retryAfterS)
      return done(new OverloadedError(retryAfterS))
    }
    done(checkContentType ? contentTypeError(request) : undefined)
  })
}

/** The 415 for a POST to a known route without Content-Type; undefined for any other request. */
export function contentTypeError(request: FastifyRequest): Error | undefined {
  // is404: unknown routes answer 404/405 (not-found.ts), whatever their headers.
  return request.method === 'POST' && request.headers['content-type'] === undefined && !request.is404 ? new MissingContentTypeError() : undefined
}
