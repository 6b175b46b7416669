import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { ServiceCounters } from '../store/service-counters.js'

/**
 * Counts every request on arrival (in-flight gauge) and every response once it is
 * sent (total and status class). The raw response's 'close' event fires exactly
 * once, whether the response finished or the client went away first; only
 * finished responses count as sent. One shared listener: nothing is allocated
 * per request.
 */
export function countRequests(app: FastifyInstance, counters: ServiceCounters): void {
  function onClose(this: ServerResponse): void {
    if (this.writableFinished) counters.requestFinished(this.statusCode)
    else counters.requestAbandoned()
  }
  app.addHook('onRequest', (_request, reply, done) => {
    counters.requestStarted()
    reply.raw.on('close', onClose)
    done()
  })
}
