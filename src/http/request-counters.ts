import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { ServiceCounters } from '../store/service-counters.js'

/**
 * Counts every request on arrival (in-flight gauge) and every response once it is
 * sent (total and status class). 'finish' fires when the response has been
 * sent; 'close' without a 'finish' before it means the client went away first.
 * Whichever fires first removes the other listener, so each request is counted
 * once. (Checking writableFinished on 'close' instead misses every response to
 * app.inject, whose fake socket never reports the write as flushed.) Shared
 * listeners: nothing is allocated per request.
 */
export function requestTracker(counters: ServiceCounters): RequestTracker {
  function onFinish(this: ServerResponse): void {
    // app.inject's fake response can emit 'finish' twice: count the first only.
    this.removeListener('finish', onFinish)
    this.removeListener('close', onClose)
    counters.requestFinished(this.statusCode)
  }
  function onClose(this: ServerResponse): void {
    this.removeListener('finish', onFinish)
    counters.requestAbandoned()
  }
  return (res) => {
    counters.requestStarted()
    res.on('finish', onFinish)
    res.on('close', onClose)
  }
}

/** Counts one request, from its raw response. */
export type RequestTracker = (res: ServerResponse) => void

/** Counts every request that reaches Fastify's hooks, before any other hook runs. */
export function countRequests(app: FastifyInstance, track: RequestTracker): void {
  app.addHook('onRequest', (_request, reply, done) => {
    track(reply.raw)
    done()
  })
}
