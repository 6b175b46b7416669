import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TokenCheck } from './bearer-auth.js'
import { decodeContentEncoding } from './content-encoding.js'
import { MissingContentTypeError, OverloadedError } from './errors.js'
import type { OverloadMonitor } from './overload.js'
import type { RequestTracker } from './request-counters.js'

/** Routes served while overloaded: the health check says so itself. */
const ALWAYS_SERVED = '/healthz'

export interface GateOptions {
  track: RequestTracker
  overload: OverloadMonitor
  retryAfterS: number
  /** Bearer tokens (bearer-auth.ts); undefined when the service has none. */
  checkToken: TokenCheck | undefined
}

/**
 * The one hook every request passes before its route, in this order:
 *   1. it is counted (request-counters.ts);
 *   2. while the event loop is overloaded, 503 with Retry-After (but /healthz)
 *      instead of queueing work without bound;
 *   3. with bearer tokens, 401/403 for a caller without a valid one, whatever it sent;
 *   4. 415 for a POST to a known route without Content-Type (every POST route takes
 *      a body): Fastify answers 415 to a body of a type no parser takes, but hands a
 *      POST without the header and without a body to validation, a 400;
 *   5. a body with a Content-Encoding is decoded as it streams in (gzip), or 415
 *      (content-encoding.ts).
 * A preParsing hook, because step 5 replaces the body stream. One hook rather than
 * one per concern: each hook is a step of Fastify's hook runner per request, on the
 * single-sample ingest path measurable in bench S1-CPU; and the order is written
 * here rather than implied by the order of registration.
 */
export function gateRequests(app: FastifyInstance, { track, overload, retryAfterS, checkToken }: GateOptions): void {
  app.addHook('preParsing', (request, reply, payload, done) => {
    track(reply.raw)
    if (overload.overloaded && request.routeOptions.url !== ALWAYS_SERVED) {
      reply.header('retry-after', retryAfterS)
      return done(new OverloadedError(retryAfterS))
    }
    const refusal = checkToken?.(request, reply) ?? contentTypeError(request)
    if (refusal !== undefined) return done(refusal)
    decodeContentEncoding(request, payload, done)
  })
}

/** The 415 for a POST to a known route without Content-Type; undefined for any other request. */
function contentTypeError(request: FastifyRequest): Error | undefined {
  // is404: unknown routes answer 404/405 (not-found.ts), whatever their headers.
  return request.method === 'POST' && request.headers['content-type'] === undefined && !request.is404 ? new MissingContentTypeError() : undefined
}
