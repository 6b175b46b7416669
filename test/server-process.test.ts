import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { logLines, runToExit, type ServerProcess, spawnServer } from './spawn-server.js'
import { waitFor } from './wait-for.js'

// Everything here runs the built service (dist/main.js) as a child process and
// talks to it over real sockets on 127.0.0.1 only. No assertion depends on timing:
// waits are bounded polls for a condition, never "it took less than N ms".

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  /** True when the request went over a socket reused from an earlier request (keep-alive). */
  reusedSocket: boolean
}

/**
 * One HTTP request through node:http. With no agent, the request goes over a
 * fresh connection that closes after the response (Connection: close).
 */
function request(url: string, options: { method?: string; body?: unknown; agent?: http.Agent; headers?: http.OutgoingHttpHeaders } = {}): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  const headers: http.OutgoingHttpHeaders = { ...options.headers }
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = Buffer.byteLength(payload)
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: options.agent ?? false, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, reusedSocket: req.reusedSocket }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

async function getJson(url: string, agent?: http.Agent): Promise<any> {
  const res = await request(url, { agent })
  expect(res.status, res.text).toBe(200)
  return JSON.parse(res.text)
}

/** Resolves 'refused' when nothing accepts connections on the port, 'accepted' otherwise. */
function tryConnect(port: number): Promise<'refused' | 'accepted'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve('accepted')
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') resolve('refused')
      else reject(err)
    })
  })
}

/** A raw socket that sends a request's head and part of its body now, and the rest later. */
async function startSlowPost(port: number, path: string, body: string, sentFirst: number) {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  socket.setEncoding('utf8').on('data', (d: string) => (received += d))
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, sentFirst)}`,
  )
  return {
    socket,
    received: () => received,
    ended,
    finish: () => socket.write(body.slice(sentFirst)),
  }
}

/** Splits a raw HTTP/1.1 response with a Content-Length body into status, headers and body. */
function parseRawResponse(raw: string) {
  const split = raw.indexOf('\r\n\r\n')
  const [statusLine, ...headerLines] = raw.slice(0, split).split('\r\n')
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1])
  return { status, headers, body: raw.slice(split + 4) }
}

async function inFlight(server: ServerProcess): Promise<number> {
  const all = await getJson(`${server.url}/metrics`)
  return all.service.requests.in_flight as number
}

describe('startup', () => {
  it('logs the address it listens on and the config it runs with', async () => {
    const server = await spawnServer({ WINDOW_MS: '5000', MAX_SAMPLES: '321' }, ['--max-metrics', '42'])
    const startup = logLines(server.output()).find((l) => typeof l.address === 'string')
    expect(startup, server.output()).toBeDefined()
    expect(startup!.level).toBe(30)
    expect(startup!.address).toBe(`http://127.0.0.1:${server.port}`)
    expect(startup!.msg).toContain(`http://127.0.0.1:${server.port}`)
    expect(startup!.config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      windowMs: 5000,
      maxSamples: 321,
      maxMetrics: 42,
      logLevel: 'info',
    })
    // The settings reach the service, not just the log.
    expect((await getJson(`${server.url}/metrics`)).window_ms).toBe(5000)
    expect(await server.stop()).toBe(0)
  })

  it('a flag given on the command line overrides the environment', async () => {
    const server = await spawnServer({ WINDOW_MS: '5000' }, ['--window-ms=7000'])
    expect((await getJson(`${server.url}/metrics`)).window_ms).toBe(7000)
    expect(await server.stop()).toBe(0)
  })

  it('--help prints every flag with its variable and default, and exits 0 without listening', async () => {
    const result = await runToExit({}, ['--help'])
    expect(result.timedOut).toBe(false)
    expect(result.code).toBe(0)
    const flags = [
      ['--port', 'PORT', '8080'],
      ['--host', 'HOST', '127.0.0.1'],
      ['--window-ms', 'WINDOW_MS', '60000'],
      ['--max-samples', 'MAX_SAMPLES', '10000'],
      ['--max-metrics', 'MAX_METRICS', '10000'],
      ['--log-level', 'LOG_LEVEL', 'info'],
    ]
    const lines = result.stdout.split('\n')
    for (const [flag, env, def] of flags) {
      const line = lines.find((l) => l.trimStart().startsWith(`${flag} `))
      expect(line, `no line for ${flag} in:\n${result.stdout}`).toBeDefined()
      expect(line).toContain(env)
      expect(line).toContain(def)
    }
    expect(result.stdout).toContain('--help')
    expect(result.stdout + result.stderr).not.toMatch(/listening/)
  })

  it('-h prints the help too, even with an invalid variable in the environment', async () => {
    const result = await runToExit({ PORT: 'abc' }, ['-h'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('--window-ms')
  })
})

describe('invalid configuration: exits non-zero before listening, naming the variable', () => {
  const cases: { env?: Record<string, string>; args?: string[]; name: string }[] = [
    { env: { WINDOW_MS: '0' }, name: 'WINDOW_MS' },
    { env: { WINDOW_MS: '86400001' }, name: 'WINDOW_MS' },
    { env: { PORT: '70000' }, name: 'PORT' },
    { env: { PORT: '-1' }, name: 'PORT' },
    { env: { LOG_LEVEL: 'loud' }, name: 'LOG_LEVEL' },
    { env: { MAX_SAMPLES: 'abc' }, name: 'MAX_SAMPLES' },
    { env: { MAX_SAMPLES: '1.5' }, name: 'MAX_SAMPLES' },
    { env: { MAX_METRICS: '0' }, name: 'MAX_METRICS' },
    { env: { MAX_METRICS: '1e3' }, name: 'MAX_METRICS' },
    { env: { HOST: '' }, name: 'HOST' },
    { args: ['--window-ms', '0'], name: '--window-ms' },
    { args: ['--port=abc'], name: '--port' },
    { args: ['--log-level', 'loud'], name: '--log-level' },
    { args: ['--no-such-flag'], name: '--no-such-flag' },
  ]

  it.each(cases)('$name ($env $args)', async ({ env = {}, args = [], name }) => {
    const result = await runToExit(env, args)
    expect(result.timedOut, `still running:\n${result.stdout}${result.stderr}`).toBe(false)
    expect(result.signal).toBeNull()
    expect(result.code).not.toBe(0)
    expect(result.code).not.toBeNull()
    expect(result.stderr).toContain(name)
    expect(result.stderr).toMatch(/invalid configuration/)
    expect(result.stdout + result.stderr).not.toMatch(/listening/)
  })
})

describe('concurrent writers over real sockets', () => {
  it('8 keep-alive clients writing singles and batches to shared ids: count, total and samples_total are exact', async () => {
    const server = await spawnServer()
    const ids = ['alpha', 'beta', 'gamma', 'delta']
    const CLIENTS = 8
    const SINGLES = 200
    const BATCHES = 20
    const BATCH_SIZE = 50
    const expected = new Map(ids.map((id) => [id, { n: 0, min: Infinity, max: -Infinity }]))
    const note = (id: string, values: number[]) => {
      const e = expected.get(id)!
      e.n += values.length
      for (const v of values) {
        e.min = Math.min(e.min, v)
        e.max = Math.max(e.max, v)
      }
    }

    // Plan every client's requests up front: 200 singles with a batch after every 10th.
    const plans = Array.from({ length: CLIENTS }, (_, c) => {
      const plan: { id: string; body: { latency_ns: number | number[] } }[] = []
      let batches = 0
      for (let i = 0; i < SINGLES; i++) {
        const id = ids[(c + i) % ids.length]
        const value = 1 + c * 1_000_000 + i
        plan.push({ id, body: { latency_ns: value } })
        note(id, [value])
        if (i % (SINGLES / BATCHES) === SINGLES / BATCHES - 1) {
          const batchId = ids[(c + batches) % ids.length]
          const values = Array.from({ length: BATCH_SIZE }, (_, k) => 500_000 + c * 1_000_000 + batches * BATCH_SIZE + k)
          plan.push({ id: batchId, body: { latency_ns: values } })
          note(batchId, values)
          batches++
        }
      }
      expect(batches).toBe(BATCHES)
      return plan
    })

    const agents = plans.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }))
    try {
      const reused = await Promise.all(
        plans.map(async (plan, c) => {
          let reusedCount = 0
          for (const { id, body } of plan) {
            const res = await request(`${server.url}/metrics/${id}/latency`, { method: 'POST', body, agent: agents[c] })
            expect(res.status, res.text).toBe(202)
            const n = Array.isArray(body.latency_ns) ? body.latency_ns.length : 1
            expect(JSON.parse(res.text)).toEqual({ accepted: n })
            if (res.reusedSocket) reusedCount++
          }
          return reusedCount
        }),
      )
      // Keep-alive held: each client opened one connection and reused it for every later request.
      for (const r of reused) expect(r).toBe(SINGLES + BATCHES - 1)

      const perClient = SINGLES + BATCHES * BATCH_SIZE
      let sum = 0
      for (const id of ids) {
        const e = expected.get(id)!
        const snap = await getJson(`${server.url}/metrics/${id}`, agents[0])
        expect(snap.id).toBe(id)
        expect(snap.count).toBe(e.n)
        expect(snap.total).toBe(e.n)
        expect(snap.min_ns).toBe(e.min)
        expect(snap.max_ns).toBe(e.max)
        sum += e.n
      }
      expect(sum).toBe(CLIENTS * perClient)

      const all = await getJson(`${server.url}/metrics`, agents[0])
      expect(all.service.samples_total).toBe(CLIENTS * perClient)
      expect(all.service.metrics).toBe(ids.length)
      expect(all.metrics.map((m: { id: string }) => m.id)).toEqual([...ids].sort())
      for (const m of all.metrics) expect(m.count).toBe(expected.get(m.id)!.n)
      // Every POST and the four reads were answered 2xx; nothing failed.
      expect(all.service.requests['2xx']).toBeGreaterThanOrEqual(CLIENTS * (SINGLES + BATCHES))
      expect(all.service.requests['4xx']).toBe(0)
      expect(all.service.requests['5xx']).toBe(0)
      expect(all.service.requests.in_flight).toBeGreaterThanOrEqual(1)
    } finally {
      for (const agent of agents) agent.destroy()
    }
    expect(await server.stop()).toBe(0)
  })
})

describe('graceful shutdown', () => {
  it('on SIGTERM, a request in flight completes, new connections are refused, and the exit code is 0', async () => {
    const server = await spawnServer()
    const body = JSON.stringify({ latency_ns: [5, 6, 7] })
    const slow = await startSlowPost(server.port, '/metrics/slow/latency', body, 5)
    // The request is in flight once the server has counted it (the poll itself is the other one).
    await waitFor('the slow request to be in flight', async () => (await inFlight(server)) >= 2)

    const exited = server.stop('SIGTERM')
    await waitFor('the shutdown log', () => /shutting down/.test(server.output()))
    // Stops accepting: connections are refused while the slow request is still open.
    await waitFor('connections to be refused', async () => (await tryConnect(server.port)) === 'refused')
    expect(server.child.exitCode).toBeNull()
    expect(slow.received()).toBe('')

    slow.finish()
    await waitFor('the response to the slow request', () => slow.received().includes('\r\n\r\n{'))
    const res = parseRawResponse(slow.received())
    expect(res.status).toBe(202)
    expect(JSON.parse(res.body)).toEqual({ accepted: 3 })

    // The client leaves its keep-alive connection open: the server must still exit, and with 0.
    expect(await exited).toBe(0)
    await slow.ended
    await server.closed()
    expect(server.output()).not.toMatch(/killed by timeout/)
    const lines = logLines(server.output())
    expect(lines.some((l) => l.signal === 'SIGTERM' && /shutting down/.test(l.msg))).toBe(true)
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true)
    expect(await tryConnect(server.port)).toBe('refused')
  })

  it('on SIGTERM, a slow request from a keep-alive client (node:http agent) completes and the process exits 0', async () => {
    const server = await spawnServer()
    const agent = new http.Agent({ keepAlive: true })
    try {
      // A keep-alive connection used once before, then the slow request on it.
      const first = await request(`${server.url}/metrics/ka/latency`, { method: 'POST', body: { latency_ns: 1 }, agent })
      expect(first.status).toBe(202)
      const payload = JSON.stringify({ latency_ns: [2, 3] })
      let req!: http.ClientRequest
      const response = new Promise<Reply>((resolve, reject) => {
        req = http.request(
          `${server.url}/metrics/ka/latency`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
          (res) => {
            let text = ''
            res.setEncoding('utf8').on('data', (d: string) => (text += d))
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, reusedSocket: req.reusedSocket }))
          },
        )
        req.on('error', reject)
      })
      req.write(payload.slice(0, 4))
      await waitFor('the keep-alive request to be in flight', async () => (await inFlight(server)) >= 2)
      const exited = server.stop('SIGTERM')
      await waitFor('the shutdown log', () => /shutting down/.test(server.output()))
      req.end(payload.slice(4))
      const res = await response
      expect(res.status).toBe(202)
      expect(res.reusedSocket).toBe(true)
      expect(JSON.parse(res.text)).toEqual({ accepted: 2 })
      // The agent keeps the socket in its pool: the server must not wait for it.
      expect(await exited).toBe(0)
      await server.closed()
      expect(server.output()).not.toMatch(/killed by timeout/)
    } finally {
      agent.destroy()
    }
  })

  it('on SIGTERM, idle keep-alive connections do not hold the process open', async () => {
    const server = await spawnServer()
    const agent = new http.Agent({ keepAlive: true })
    try {
      for (let i = 0; i < 3; i++) expect((await request(`${server.url}/healthz`, { agent })).status).toBe(200)
      expect(await server.stop('SIGTERM')).toBe(0)
    } finally {
      agent.destroy()
    }
  })

  it('SIGINT also shuts down gracefully with exit code 0', async () => {
    const server = await spawnServer()
    expect((await request(`${server.url}/healthz`)).status).toBe(200)
    expect(await server.stop('SIGINT')).toBe(0)
    await server.closed()
    const lines = logLines(server.output())
    expect(lines.some((l) => l.signal === 'SIGINT' && /shutting down/.test(l.msg))).toBe(true)
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true)
  })
})

describe('logging', () => {
  /** A little traffic of every kind: success, client error, 404. */
  async function traffic(server: ServerProcess) {
    expect((await request(`${server.url}/healthz`)).status).toBe(200)
    expect((await request(`${server.url}/metrics/logged/latency`, { method: 'POST', body: { latency_ns: 9 } })).status).toBe(202)
    expect((await request(`${server.url}/metrics/logged/latency`, { method: 'POST', body: { latency_ns: 0 } })).status).toBe(400)
    expect((await request(`${server.url}/metrics/logged`)).status).toBe(200)
    expect((await request(`${server.url}/nope`)).status).toBe(404)
  }

  it('at LOG_LEVEL=info (the default) there are no per-request access logs', async () => {
    const server = await spawnServer()
    await traffic(server)
    expect(await server.stop()).toBe(0)
    await server.closed()
    const output = server.output()
    expect(output).not.toMatch(/incoming request/)
    expect(output).not.toMatch(/request completed/)
    const lines = logLines(output)
    expect(lines.some((l) => l.req !== undefined || l.res !== undefined || l.reqId !== undefined)).toBe(false)
    // Startup and shutdown are logged.
    expect(lines.some((l) => typeof l.address === 'string')).toBe(true)
    expect(lines.some((l) => /shutting down/.test(l.msg))).toBe(true)
  })

  it('at LOG_LEVEL=debug each request is logged', async () => {
    const server = await spawnServer({ LOG_LEVEL: 'debug' })
    await traffic(server)
    expect(await server.stop()).toBe(0)
    await server.closed()
    const lines = logLines(server.output())
    const incoming = lines.filter((l) => l.msg === 'incoming request')
    const completed = lines.filter((l) => l.msg === 'request completed')
    expect(incoming.map((l) => l.req?.url)).toEqual(expect.arrayContaining(['/healthz', '/metrics/logged/latency', '/metrics/logged', '/nope']))
    expect(incoming.length).toBeGreaterThanOrEqual(5)
    expect(completed.length).toBeGreaterThanOrEqual(5)
  })

  it('--log-level=debug on the command line turns request logs on too', async () => {
    const server = await spawnServer({}, ['--log-level=debug'])
    expect((await request(`${server.url}/healthz`)).status).toBe(200)
    expect(await server.stop()).toBe(0)
    await server.closed()
    expect(server.output()).toMatch(/incoming request/)
  })
})

describe('unknown routes and bad requests', () => {
  it('an unknown route is a 404 in the JSON error shape, and the process keeps serving', async () => {
    const server = await spawnServer()
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      for (const [method, path] of [
        ['GET', '/nope'],
        ['POST', '/nope'],
        ['GET', '/metrics/a/b/c'],
        ['PUT', '/nope'],
        // GET / is the dashboard; under it, only its own files exist.
        ['GET', '/dashboard/nope.js'],
      ] as const) {
        const res = await request(`${server.url}${path}`, { method, agent })
        expect(res.status, `${method} ${path}`).toBe(404)
        expect(res.headers['content-type']).toMatch(/^application\/json/)
        const body = JSON.parse(res.text)
        expect(body).toMatchObject({ statusCode: 404, error: 'Not Found' })
        expect(typeof body.message).toBe('string')
        expect(body.message.length).toBeGreaterThan(0)
      }
      expect((await request(`${server.url}/healthz`, { agent })).status).toBe(200)
      const all = await getJson(`${server.url}/metrics`, agent)
      expect(all.service.requests['4xx']).toBeGreaterThanOrEqual(5)
    } finally {
      agent.destroy()
    }
    expect(await server.stop()).toBe(0)
  })

  it('malformed HTTP on one connection does not disturb the process', async () => {
    const server = await spawnServer()
    const socket = net.connect(server.port, '127.0.0.1')
    await once(socket, 'connect')
    let received = ''
    socket.setEncoding('utf8').on('data', (d: string) => (received += d))
    const closed = once(socket, 'close')
    socket.write('THIS IS NOT HTTP\r\n\r\n')
    await closed
    expect(received).toMatch(/^HTTP\/1\.1 400/)
    expect((await request(`${server.url}/healthz`)).status).toBe(200)
    expect(await server.stop()).toBe(0)
  })
})
