import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { ServiceCounters } from '../store/service-counters.js'

/** Requests counted on a connection whose response has not closed yet. */
const UNCLOSED = Symbol('unclosed responses')
/** What to run once a connection's unclosed responses are down to `left` (afterResponses). */
const AFTER_RESPONSES = Symbol('after responses')

interface CountedSocket extends Socket {
  [UNCLOSED]?: number
  [AFTER_RESPONSES]?: { left: number; run: () => void }
}

/**
 * Counts every request on arrival (in-flight gauge) and every response once it is
 * done (total and status class), with one shared 'close' listener per response:
 * 'close' comes once for every response, after it was sent or when the client
 * went away first. `writableEnded` tells the two apart: the response was ended
 * (sent) or it never was (abandoned: no longer in flight, not counted as sent).
 * One listener and no removals: an extra 'finish' listener (and the removal of
 * both) was measurable per request (bench S1-CPU). Nothing is allocated per request.
 *
 * Except for pipelined requests: when a connection closes, Node never closes the
 * responses still queued behind the one being sent, so each connection also
 * counts its unclosed responses, and once it has closed (and the response in
 * progress with it) whatever is left is counted as abandoned.
 */
export function requestTracker(counters: ServiceCounters): RequestTracker {
  function onClose(this: ServerResponse): void {
    const socket = this.req.socket as CountedSocket
    const unclosed = socket[UNCLOSED] ?? 0
    // 0: the connection closed and its leftovers were counted already.
    if (unclosed === 0) return
    socket[UNCLOSED] = unclosed - 1
    if (this.writableEnded) counters.requestFinished(this.statusCode)
    else counters.requestAbandoned()
    const after = socket[AFTER_RESPONSES]
    if (after !== undefined && unclosed - 1 <= after.left) runAfterResponses(socket)
  }
  function abandonLeftovers(socket: CountedSocket): void {
    for (let n = socket[UNCLOSED] ?? 0; n > 0; n--) counters.requestAbandoned()
    socket[UNCLOSED] = 0
    if (socket[AFTER_RESPONSES] !== undefined) runAfterResponses(socket)
  }
  function onSocketClose(this: CountedSocket): void {
    // After the 'close' of the response in progress, which Node emits on this same event.
    setImmediate(abandonLeftovers, this)
  }
  return (res) => {
    counters.requestStarted()
    const socket = res.req.socket as CountedSocket
    const unclosed = socket[UNCLOSED]
    if (unclosed === undefined) socket.once('close', onSocketClose)
    socket[UNCLOSED] = (unclosed ?? 0) + 1
    res.on('close', onClose)
  }
}

/** Counts one request, from its raw response. */
export type RequestTracker = (res: ServerResponse) => void

/**
 * Runs `run` once at most `left` of the responses counted on `socket` are still
 * open (now, if that is already so), or once the connection has closed. Responses
 * go out in the order their requests came, so a client that pipelined requests
 * reads the answers to every one of them before whatever `run` writes.
 */
export function afterResponses(socket: Socket, left: number, run: () => void): void {
  const counted = socket as CountedSocket
  if ((counted[UNCLOSED] ?? 0) <= left) return run()
  counted[AFTER_RESPONSES] = { left, run }
}

function runAfterResponses(socket: CountedSocket): void {
  const { run } = socket[AFTER_RESPONSES]!
  socket[AFTER_RESPONSES] = undefined
  run()
}
