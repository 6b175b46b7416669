import { type IncomingMessage, type RequestListener, STATUS_CODES, type Server, type ServerResponse, maxHeaderSize } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ConnectionError, FastifyInstance } from 'fastify'
import type { ServiceCounters } from '../store/service-counters.js'
import { type RequestTracker, afterResponses } from './request-counters.js'

/**
 * Requests that never reach Fastify's router: Node's HTTP parser refuses their
 * bytes (conflicting Content-Length, Content-Length with Transfer-Encoding, a bad
 * chunk size, headers over the limit), they take too long (HEADERS_TIMEOUT_MS,
 * REQUEST_TIMEOUT_MS), or an HTTP/1.1 request has no Host. Each is answered in
 * the error shape of every other answer, {statusCode, code, error, message},
 * where a body can still be sent, and counted in the service's request counters.
 */

export interface RequestTimeouts {
  headersTimeoutMs: number
  requestTimeoutMs: number
}

/** Node's own fields, which its default handler checks too: the response begun on the socket, and the request being parsed. */
interface HttpSocket extends Socket {
  _httpMessage?: ServerResponse | null
  parser?: { incoming?: IncomingMessage | null } | null
}

/** Connections answered already: after an error Node's parser repeats it for every later chunk. */
const REFUSED = Symbol('refused')

/**
 * Fastify's clientErrorHandler, in place of its default (whose bodies have no
 * `code` and which nothing counts). As Node does, it answers only where no
 * response has begun on the connection, then closes the connection: after a
 * framing error nothing more on it can be trusted. Unlike Node, it answers after
 * the requests pipelined ahead of the bad one: answered at once, the error would
 * be read as the answer to the first of them, which may well have been stored.
 * They get REQUEST_TIMEOUT_MS to go out; then the connection is closed unanswered.
 */
export function clientErrorHandler(counters: ServiceCounters, timeouts: RequestTimeouts) {
  return function answerClientError(this: FastifyInstance, err: ConnectionError, socket: Socket & { [REFUSED]?: true }): void {
    // The client is gone: there is no one to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed || socket[REFUSED]) return
    socket[REFUSED] = true
    // A request whose body was arriving is counted already, and will never be complete.
    const incoming = (socket as HttpSocket).parser?.incoming
    const unfinished = incoming != null && !incoming.complete ? 1 : 0
    // Not for ever: a client that does not read would keep the answers ahead, and the connection, open for good.
    const deadline = setTimeout(() => socket.destroy(err), timeouts.requestTimeoutMs)
    deadline.unref()
    afterResponses(socket, unfinished, () => {
      clearTimeout(deadline)
      if (socket.destroyed) return
      const response = (socket as HttpSocket)._httpMessage
      if (socket.writable && (response == null || !response.headersSent)) {
        const status = statusOf(err.code)
        counters.requestStarted()
        socket.write(rawResponse(status, errorBody(status, err.code ?? 'ERR_CLIENT', messageOf(err, status, timeouts))))
        counters.requestFinished(status)
      }
      // A flood of bad requests must not become a flood of logs.
      this.log.debug({ err }, 'client error')
      socket.destroy(err)
    })
  }
}

function statusOf(code: string | undefined): number {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408
    case 'HPE_HEADER_OVERFLOW':
      return 431
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413
    default:
      return 400
  }
}

function messageOf(err: ConnectionError, status: number, timeouts: RequestTimeouts): string {
  switch (status) {
    case 408:
      return `the request took too long: its headers must arrive within ${timeouts.headersTimeoutMs} ms and all of it within ${timeouts.requestTimeoutMs} ms`
    case 431:
      return `the request's headers exceed ${maxHeaderSize} bytes`
    default: {
      // llhttp's errors carry the rule that was broken as `reason`, e.g. "Duplicate Content-Length".
      const reason = (err as ConnectionError & { reason?: string }).reason ?? err.message
      return `malformed HTTP request (${reason}): nothing was read or stored`
    }
  }
}

function errorBody(status: number, code: string, message: string): string {
  return JSON.stringify({ statusCode: status, code, error: STATUS_CODES[status], message })
}

function rawResponse(status: number, body: string): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  )
}

/**
 * Node answers an HTTP/1.1 request without Host (RFC 9112: 400) with a bare 400
 * that no hook sees and nothing counts, unless the server's requireHostHeader is
 * off. With it off, this listener goes in front of Fastify's and answers such a
 * request in the error shape, counted; any other request costs one property check.
 */
export function refuseRequestsWithoutHost(server: Server, track: RequestTracker): void {
  const [fastifyHandler] = server.listeners('request') as RequestListener[]
  server.removeListener('request', fastifyHandler)
  server.on('request', (req, res) => {
    if (req.headers.host !== undefined || req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) {
      fastifyHandler(req, res)
      return
    }
    track(res)
    endWithError(res, 400, 'LT_MISSING_HOST', 'an HTTP/1.1 request must have a Host header: nothing was read or stored')
  })
}

/** Answers in the error shape and closes the connection, from outside Fastify (it has not seen the request). */
function endWithError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = errorBody(status, code, message)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' })
  res.end(body)
}

/**
 * Two requests Node answers itself when nothing listens for them, without a body
 * and uncounted: an `Expect` other than 100-continue (a bare 417) and CONNECT (the
 * connection dropped, no answer). Both are answered here in the error shape,
 * counted, and the connection closed.
 */
export function refuseExpectationsAndConnect(server: Server, counters: ServiceCounters, track: RequestTracker): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    track(res)
    const expect = JSON.stringify(req.headers.expect ?? '').slice(0, 100)
    endWithError(res, 417, 'LT_EXPECTATION_FAILED', `Expect: ${expect} is not supported, only 100-continue: nothing was read or stored`)
  })
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    counters.requestStarted()
    socket.on('error', () => {}) // a client gone already: nothing to answer
    socket.end(rawResponse(405, errorBody(405, 'LT_METHOD_NOT_ALLOWED', 'CONNECT is not allowed: this service is not a proxy')))
    counters.requestFinished(405)
  })
}
