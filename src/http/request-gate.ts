import type { FastifyInstance } from 'fastify'
import { OverloadedError } from './errors.js'
import type { OverloadMonitor } from './overload.js'
import type { RequestTracker } from './request-counters.js'

/** Routes served while overloaded: the health check says so itself. */
const ALWAYS_SERVED = '/healthz'

/**
 * The one onRequest hook every request passes first: it counts the request
 * (request-counters.ts) and, while the event loop is overloaded, answers 503
 * with Retry-After instead of queueing work without bound. One hook rather than
 * one per concern: each hook is a step of Fastify's hook runner per request,
 * measurable on the single-sample ingest path (bench S1-CPU).
 */
export function gateRequests(app: FastifyInstance, track: RequestTracker, overload: OverloadMonitor, retryAfterS: number): void {
  app.addHook('onRequest', (request, reply, done) => {
    track(reply.raw)
    if (!overload.overloaded || request.routeOptions.url === ALWAYS_SERVED) return done()
    reply.header('retry-after', retryAfterS)
    done(new OverloadedError(retryAfterS))
  })
}
