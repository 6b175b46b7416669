import { once } from 'node:events'
import { STATUS_CODES } from 'node:http'
import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'
import { waitFor } from './wait-for.js'

// Requests that Node's HTTP parser refuses before Fastify sees them, a request
// that takes too long, and an HTTP/1.1 request without Host: each gets a JSON
// body in the error shape and is counted like every other answer. Raw sockets
// against a service the test starts on a free 127.0.0.1 port.

interface RawReply {
  status: number
  headers: Record<string, string>
  body: string
  /** The server closed the connection after its answer. */
  closed: boolean
}

/** Sends `bytes` on a fresh connection (optionally more later); everything read until the server closed it. */
async function exchange(app: FastifyInstance, bytes: string | Buffer, after?: (write: (b: string) => void) => void): Promise<string> {
  const { port } = app.server.address() as { port: number }
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {}) // a reset after the answer is fine: the answer is what is checked
  let text = ''
  socket.setEncoding('latin1').on('data', (d: string) => (text += d))
  await once(socket, 'connect')
  socket.write(bytes)
  after?.((b) => socket.write(b))
  await once(socket, 'close')
  return text
}

/** The answer to `bytes` sent on a fresh connection that the server then closed. */
async function raw(app: FastifyInstance, bytes: string | Buffer, after?: (write: (b: string) => void) => void): Promise<RawReply> {
  const text = await exchange(app, bytes, after)
  const end = text.indexOf('\r\n\r\n')
  expect(end, `no complete answer in ${JSON.stringify(text)}`).toBeGreaterThan(0)
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4), closed: true }
}

async function requests(app: FastifyInstance) {
  return (await app.inject({ url: '/metrics' })).json().service.requests as Record<string, number>
}

async function promRequests(app: FastifyInstance, cls: string): Promise<number> {
  const text = (await app.inject({ url: '/metrics?format=prometheus' })).body
  const line = text.split('\n').find((l) => l.startsWith(`latency_tracker_http_requests_total{class="${cls}"}`))
  return Number(line!.split(' ').pop())
}

/** Asserts one more 4xx was counted since `before`, and that nothing but the read asking is in flight; returns the counters. */
async function expectOneMore4xx(app: FastifyInstance, before: Record<string, number>) {
  const after = await requests(app)
  expect(after['4xx'] - before['4xx']).toBe(1)
  expect(after.in_flight).toBe(1) // this read
  return after
}

/** Asserts the answer is a JSON error of `status` in the contract's shape; returns it. */
function expectJsonError(reply: RawReply, status: number) {
  expect(reply.status, reply.body).toBe(status)
  expect(reply.headers['content-type']).toMatch(/^application\/json/)
  expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body))
  const body = JSON.parse(reply.body)
  expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'statusCode'])
  expect(body).toMatchObject({ statusCode: status, error: STATUS_CODES[status] })
  expect(typeof body.code).toBe('string')
  expect(body.message.length).toBeGreaterThan(0)
  return body as { statusCode: number; code: string; error: string; message: string }
}

const BODY = '{"latency_ns":5}'
const post = (headers: string, body = BODY) =>
  `POST /metrics/framing/latency HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n${body}`

describe('requests refused before routing: the error shape, counted, nothing stored', () => {
  const cases: Array<[string, string | Buffer, number, RegExp]> = [
    ['duplicate Content-Length', post(`Content-Length: ${BODY.length}\r\nContent-Length: ${BODY.length}\r\n`), 400, /HPE_/],
    ['conflicting Content-Length', post(`Content-Length: ${BODY.length}\r\nContent-Length: 3\r\n`), 400, /HPE_/],
    [
      'Content-Length with Transfer-Encoding',
      post(`Content-Length: ${BODY.length}\r\nTransfer-Encoding: chunked\r\n`, `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`),
      400,
      /HPE_/,
    ],
    ['a bad chunk size', post('Transfer-Encoding: chunked\r\n', `zz\r\n${BODY}\r\n0\r\n\r\n`), 400, /HPE_/],
    ['headers over the limit', `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, /HPE_HEADER_OVERFLOW/],
    [
      'HTTP/1.1 without Host',
      `POST /metrics/framing/latency HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
      400,
      /LT_MISSING_HOST/,
    ],
  ]

  for (const [name, bytes, status, code] of cases) {
    it(name, async () => {
      const app = await build({ maxEventLoopDelayMs: 0 })
      const before = await requests(app)
      const promBefore = await promRequests(app, '4xx')
      const body = expectJsonError(await raw(app, bytes), status)
      expect(body.code).toMatch(code)
      const after = await expectOneMore4xx(app, before)
      // Reads count too: the refused request, the read that gave `before` and the Prometheus read.
      expect(after.total - before.total).toBe(3)
      expect((await promRequests(app, '4xx')) - promBefore).toBe(1)
      expect((await app.inject({ url: '/metrics' })).json().metrics).toEqual([])
    })
  }

  it('a request that takes too long gets a 408 in the error shape', async () => {
    const app = await build({ maxEventLoopDelayMs: 0, headersTimeoutMs: 100, requestTimeoutMs: 200 })
    const before = await requests(app)
    // The body never comes: the request times out.
    const reply = await raw(app, post(`Content-Length: ${BODY.length}\r\n`, BODY.slice(0, 3)))
    const body = expectJsonError(reply, 408)
    expect(body.code).toBe('ERR_HTTP_REQUEST_TIMEOUT')
    await expectOneMore4xx(app, before)
    expect((await app.inject({ url: '/metrics' })).json().metrics).toEqual([])
  })

  it('an Expect other than 100-continue is 417 in the error shape, counted, and nothing is stored', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const before = await requests(app)
    const reply = await raw(app, post('Expect: something-else\r\n'))
    const body = expectJsonError(reply, 417)
    expect(body.code).toBe('LT_EXPECTATION_FAILED')
    expect(body.message).toContain('something-else')
    await expectOneMore4xx(app, before)
    expect((await app.inject({ url: '/metrics' })).json().metrics).toEqual([])
  })

  it('CONNECT is 405 in the error shape and counted', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const before = await requests(app)
    const body = expectJsonError(await raw(app, 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n'), 405)
    expect(body.code).toBe('LT_METHOD_NOT_ALLOWED')
    await expectOneMore4xx(app, before)
  })

  it('HTTP/1.0 without Host is served as usual', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const reply = await raw(app, 'GET /healthz HTTP/1.0\r\n\r\n')
    expect(reply.status, reply.body).toBe(200)
    expect(JSON.parse(reply.body)).toEqual({ status: 'ok' })
  })
})

describe('pipelined requests: answered in order, and none left in flight when the connection closes', () => {
  /** Opens a connection, writes `bytes` at once, and resolves when the server or `cut` closes it. */
  async function pipeline(app: FastifyInstance, bytes: string, cut?: (socket: ReturnType<typeof connect>) => void): Promise<void> {
    const { port } = app.server.address() as { port: number }
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.resume()
    await once(socket, 'connect')
    socket.write(bytes)
    cut?.(socket)
    await once(socket, 'close')
  }

  /**
   * In-flight once the server has seen the connections close (it may after the
   * client does): polled until only the read asking is left, for at most 2 s.
   */
  async function settledInFlight(app: FastifyInstance): Promise<number> {
    let inFlight = (await requests(app)).in_flight
    for (let i = 0; i < 40 && inFlight !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      inFlight = (await requests(app)).in_flight
    }
    return inFlight
  }

  const GET_HEALTH = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'

  it('a malformed request after three good ones: none is left in flight', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    for (let i = 0; i < 3; i++) await pipeline(app, `${GET_HEALTH.repeat(3)}GARBAGE\r\n\r\n`)
    expect(await settledInFlight(app)).toBe(1)
  })

  /** Every answer to `bytes` sent on a fresh connection that the server then closed: head, then the body by Content-Length. */
  async function answersTo(app: FastifyInstance, bytes: string): Promise<Array<{ status: number; body: string }>> {
    let text = await exchange(app, bytes)
    const answers: Array<{ status: number; body: string }> = []
    while (text.length > 0) {
      const end = text.indexOf('\r\n\r\n')
      expect(end, `an incomplete answer: ${JSON.stringify(text)}`).toBeGreaterThan(0)
      const head = text.slice(0, end)
      const length = Number(/content-length: *(\d+)/i.exec(head)![1])
      answers.push({ status: Number(head.split(' ')[1]), body: text.slice(end + 4, end + 4 + length) })
      text = text.slice(end + 4 + length)
    }
    return answers
  }

  const postOne = (id: string) =>
    `POST /metrics/${id}/latency HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`

  it('requests ahead of a malformed one are answered first, in order, then the 400: it is not read as the answer to the first', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const before = await requests(app)
    const answers = await answersTo(app, `${postOne('ahead')}${GET_HEALTH}GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n`)
    expect(answers.map((a) => a.status)).toEqual([202, 200, 400])
    expect(JSON.parse(answers[0].body)).toEqual({ accepted: 1 })
    expect(JSON.parse(answers[2].body)).toMatchObject({ statusCode: 400, code: 'HPE_UNEXPECTED_CONTENT_LENGTH' })
    expect((await app.inject({ url: '/metrics/ahead' })).json().count).toBe(1)
    expect(await settledInFlight(app)).toBe(1)
    await expectOneMore4xx(app, before)
  })

  it('a chunked body that breaks off behind a good request: that one is answered, then the 400, and nothing of the broken one is stored', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const broken =
      'POST /metrics/broken/latency HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"lat\r\nzz\r\n'
    const answers = await answersTo(app, `${postOne('good')}${broken}`)
    expect(answers.map((a) => a.status)).toEqual([202, 400])
    expect(JSON.parse(answers[1].body)).toMatchObject({ statusCode: 400, code: 'HPE_INVALID_CHUNK_SIZE' })
    expect((await app.inject({ url: '/metrics/good' })).json().count).toBe(1)
    expect((await app.inject({ url: '/metrics/broken' })).statusCode).toBe(404)
    expect(await settledInFlight(app)).toBe(1)
  })

  it('a client that does not read the answers ahead of its malformed request is cut off after REQUEST_TIMEOUT_MS', async () => {
    const app = await build({ maxEventLoopDelayMs: 0, headersTimeoutMs: 500, requestTimeoutMs: 1_000 })
    const { port } = app.server.address() as { port: number }
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.pause() // never reads: the 1.7 MB answers ahead cannot all go out
    await once(socket, 'connect')
    socket.write(`${'GET /docs/static/swagger-ui-bundle.js HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10)}GARBAGE\r\n\r\n`)
    // And it keeps sending now and then, as the reads of its bytes would keep an idle timeout away.
    const trickle = setInterval(() => socket.write('x'), 200)
    try {
      const connections = () => new Promise<number>((resolve) => app.server.getConnections((_err, n) => resolve(n)))
      await waitFor('the server to close the connection', async () => (await connections()) === 0)
    } finally {
      clearInterval(trickle)
      socket.destroy()
    }
  })

  it('the client goes away with requests still queued: none is left in flight', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    for (let i = 0; i < 50; i++) await postJson(app, `/metrics/m${i}/latency`, { latency_ns: [1, 2, 3] })
    const read = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'
    for (let i = 0; i < 3; i++) await pipeline(app, read.repeat(5), (socket) => setImmediate(() => socket.destroy()))
    expect(await settledInFlight(app)).toBe(1)
  })
})
