import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, expectError } from './helper.js'

const MIB = 1024 * 1024

/** Both JSON write routes, each with a body it accepts. */
const ROUTES = [
  { route: 'latency', body: '{"latency_ns":[1500,2500]}', accepted: 2 },
  { route: 'jobs', body: '{"event":"started","count":3}', accepted: 3 },
] as const

function post(app: FastifyInstance, route: string, encoding: string | undefined, payload: Buffer | string | Readable) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (encoding !== undefined) headers['content-encoding'] = encoding
  // As a socket would say it: app.inject sends a stream with neither Content-Length nor this.
  if (payload instanceof Readable) headers['transfer-encoding'] = 'chunked'
  return app.inject({ method: 'POST', url: `/metrics/m/${route}`, headers, payload })
}

async function nothingStored(app: FastifyInstance) {
  expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
}

/** {"latency_ns":7} padded with spaces to exactly `size` bytes. */
function paddedLatency(size: number): Buffer {
  const head = '{"latency_ns":7'
  return Buffer.from(head + ' '.repeat(size - head.length - 1) + '}')
}

describe.each(ROUTES)('Content-Encoding on POST /metrics/:id/$route', ({ route, body, accepted }) => {
  it.each(['gzip', 'GZIP', 'x-gzip', 'gzip, identity'])('%s: the body is decoded and stored', async (encoding) => {
    const app = await build()
    const res = await post(app, route, encoding, gzipSync(body))
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json()).toEqual({ accepted })
  })

  it.each(['identity', ''])('"%s" is the plain body', async (encoding) => {
    const app = await build()
    const res = await post(app, route, encoding, body)
    expect(res.statusCode, res.body).toBe(202)
  })

  it('gzip on a body that is not gzip is 400 saying so, and stores nothing', async () => {
    const app = await build()
    const message = expectError(await post(app, route, 'gzip', body), 400)
    expect(message).toMatch(/not valid gzip/)
    expect((await post(app, route, 'gzip', body)).json().code).toBe('LT_INVALID_GZIP')
    await nothingStored(app)
  })

  it('a truncated gzip body is 400 and stores nothing', async () => {
    const app = await build()
    const gz = gzipSync(body)
    expectError(await post(app, route, 'gzip', gz.subarray(0, gz.length - 6)), 400)
    await nothingStored(app)
  })

  it.each(['br', 'deflate', 'compress', 'zstd', 'whatever', 'gzip, gzip', 'gzip, br'])('%s is 415 naming it, and stores nothing', async (encoding) => {
    const app = await build()
    const res = await post(app, route, encoding, body)
    const message = expectError(res, 415)
    expect(message).toContain(encoding)
    expect(res.json().code).toBe('LT_UNSUPPORTED_CONTENT_ENCODING')
    await nothingStored(app)
  })
})

describe('Content-Encoding limits (1 MiB before and after decoding)', () => {
  it('a gzip body that decodes to exactly 1 MiB is stored', async () => {
    const app = await build()
    const res = await post(app, 'latency', 'gzip', gzipSync(paddedLatency(MIB)))
    expect(res.statusCode, res.body).toBe(202)
  })

  it('a gzip body that decodes to 1 MiB + 1 byte is 413 and stores nothing', async () => {
    const app = await build()
    const gz = gzipSync(paddedLatency(MIB + 1))
    expect(gz.length).toBeLessThan(MIB / 100)
    expect(expectError(await post(app, 'latency', 'gzip', gz), 413)).toMatch(/too large/i)
    await nothingStored(app)
  })

  it('a gzip bomb (32 MiB of zeros in 32 KiB) is 413, streamed or not', async () => {
    const bomb = gzipSync(Buffer.alloc(32 * MIB))
    // Compressing it stalls the event loop on a busy machine: no overload 503 in this test.
    const app = await build({ maxEventLoopDelayMs: 0 })
    expect(bomb.length).toBeLessThan(MIB / 8)
    expectError(await post(app, 'latency', 'gzip', bomb), 413)
    expectError(await post(app, 'latency', 'gzip', Readable.from([bomb.subarray(0, 1000), bomb.subarray(1000)])), 413)
    await nothingStored(app)
    // The service is fine afterwards.
    expect((await post(app, 'latency', 'gzip', gzipSync('{"latency_ns":5}'))).statusCode).toBe(202)
  })

  it('a gzip body over 1 MiB as sent is 413, by Content-Length or while streaming', async () => {
    const app = await build()
    // Random bytes do not compress: the gzip body is larger than 1 MiB.
    const gz = gzipSync(randomBytes(MIB + 1024))
    expect(gz.length).toBeGreaterThan(MIB)
    expectError(await post(app, 'latency', 'gzip', gz), 413)
    const streamed = await post(app, 'latency', 'gzip', Readable.from([gz.subarray(0, 65536), gz.subarray(65536)]))
    expect(streamed.raw.req.headers['content-length']).toBeUndefined()
    expectError(streamed, 413)
    await nothingStored(app)
  })

  it('a bodiless request with any Content-Encoding is served as usual', async () => {
    const app = await build()
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { 'content-encoding': 'br' } })
    expect(res.statusCode).toBe(200)
  })

  it('a GET with a body is served whatever its encoding or size: the body is never read, plain or encoded', async () => {
    const app = await build()
    await app.inject({ method: 'POST', url: '/metrics/m/latency', payload: { latency_ns: 5 } })
    const big = gzipSync(randomBytes(2 * MIB))
    for (const url of ['/healthz', '/metrics', '/metrics/m', '/metrics/m/series']) {
      for (const [encoding, body] of [
        ['br', Buffer.from('not brotli')],
        ['deflate', Buffer.from('x')],
        ['gzip', big],
        [undefined, randomBytes(2 * MIB)],
      ] as const) {
        const headers = { 'content-type': 'application/octet-stream', ...(encoding === undefined ? {} : { 'content-encoding': encoding }) }
        const res = await app.inject({ method: 'GET', url, headers, payload: body })
        expect(res.statusCode, `${url} ${encoding}: ${res.body.slice(0, 200)}`).toBe(200)
      }
    }
  })
})
