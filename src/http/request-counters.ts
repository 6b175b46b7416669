import type { ServerResponse } from 'node:http'
import type { ServiceCounters } from '../store/service-counters.js'

/**
 * Counts every request on arrival (in-flight gauge) and every response once it is
 * done (total and status class), with one shared 'close' listener per response:
 * 'close' comes once for every response, after it was sent or when the client
 * went away first. `writableEnded` tells the two apart: the response was ended
 * (sent) or it never was (abandoned: no longer in flight, not counted as sent).
 * One listener and no removals: an extra 'finish' listener (and the removal of
 * both) was measurable per request (bench S1-CPU). Nothing is allocated per request.
 */
export function requestTracker(counters: ServiceCounters): RequestTracker {
  function onClose(this: ServerResponse): void {
    if (this.writableEnded) counters.requestFinished(this.statusCode)
    else counters.requestAbandoned()
  }
  return (res) => {
    counters.requestStarted()
    res.on('close', onClose)
  }
}

/** Counts one request, from its raw response. */
export type RequestTracker = (res: ServerResponse) => void
