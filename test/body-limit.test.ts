import { STATUS_CODES } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'

const MIB = 1024 * 1024

/**
 * A valid JSON body of exactly `size` bytes: {"latency_ns":7} padded with
 * whitespace, so that only its size can make the service refuse it.
 */
function paddedLatency(size: number): string {
  const head = '{"latency_ns":7'
  return head + ' '.repeat(size - head.length - 1) + '}'
}

function paddedJob(size: number): string {
  const head = '{"event":"started"'
  return head + ' '.repeat(size - head.length - 1) + '}'
}

function postRaw(app: FastifyInstance, url: string, payload: string | Readable) {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload })
}

function expect413(res: LightMyRequestResponse) {
  expect(res.statusCode, res.body.slice(0, 200)).toBe(413)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json()
  expect(body).toMatchObject({ statusCode: 413, error: STATUS_CODES[413] })
  expect(body.message).toMatch(/too large/i)
}

describe('request body limit (1 MiB)', () => {
  it('a latency body of 1 MiB + 1 byte is 413 and creates nothing', async () => {
    const app = await build()
    const payload = paddedLatency(MIB + 1)
    expect(Buffer.byteLength(payload)).toBe(MIB + 1)
    expect413(await postRaw(app, '/metrics/m/latency', payload))
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json().service.samples_total).toBe(0)
  })

  it('a body of exactly 1 MiB is not over the limit (202)', async () => {
    const app = await build()
    const res = await postRaw(app, '/metrics/m/latency', paddedLatency(MIB))
    expect(res.statusCode).toBe(202)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).json()).toMatchObject({ count: 1, min_ns: 7 })
  })

  it('a large batch over 1 MiB is 413 and leaves an existing metric unchanged', async () => {
    const app = await build()
    await postJson(app, '/metrics/m/latency', { latency_ns: [5, 6] })
    // Also more than 10,000 values (a 400 once parsed): the size must be refused first.
    const payload = `{"latency_ns":[${new Array(300_000).fill('1234').join(',')}]}`
    expect(Buffer.byteLength(payload)).toBeGreaterThan(MIB)
    expect413(await postRaw(app, '/metrics/m/latency', payload))
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).json()).toMatchObject({ count: 2, total: 2 })
  })

  it('a streamed body (no Content-Length) over 1 MiB is 413 and creates nothing', async () => {
    const app = await build()
    const chunk = Buffer.from(paddedLatency(MIB + 4096))
    const stream = Readable.from([chunk.subarray(0, 65536), chunk.subarray(65536)])
    const res = await postRaw(app, '/metrics/m/latency', stream)
    expect(res.raw.req.headers['content-length']).toBeUndefined()
    expect413(res)
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
  })

  it('a batch that arrives in several chunks is read whole, split anywhere, even inside a number', async () => {
    const app = await build()
    const values = Array.from({ length: 500 }, (_, i) => 1_000_000 + i * 7919)
    const statuses = values.map((_, i) => (i % 10 === 0 ? 503 : 200))
    const body = Buffer.from(JSON.stringify({ latency_ns: values, status: statuses }))
    const stream = Readable.from([body.subarray(0, 9), body.subarray(9, 2001), body.subarray(2001, 4000), body.subarray(4000)])
    const res = await postRaw(app, '/metrics/m/latency', stream)
    expect(res.json()).toEqual({ accepted: 500 })
    const snapshot = (await app.inject({ method: 'GET', url: '/metrics/m' })).json()
    expect(snapshot).toMatchObject({ count: 500, min_ns: values[0], max_ns: values[499], statuses: { 200: 450, 503: 50 } })
  })

  it('a body shorter than its Content-Length is 400 and stores nothing', async () => {
    const app = await build()
    const payload = '{"latency_ns":[5,6]}'
    const res = await app.inject({
      method: 'POST',
      url: '/metrics/m/latency',
      headers: { 'content-type': 'application/json', 'content-length': String(payload.length + 5) },
      payload,
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' })
    expect((await app.inject({ method: 'GET', url: '/metrics/m' })).statusCode).toBe(404)
  })

  it('a jobs body over 1 MiB is 413 and creates nothing', async () => {
    const app = await build()
    expect413(await postRaw(app, '/metrics/j/jobs', paddedJob(MIB + 1)))
    expect((await app.inject({ method: 'GET', url: '/metrics/j' })).statusCode).toBe(404)
    // The same body at the limit is fine, so the 413 above was about size.
    expect((await postRaw(app, '/metrics/j/jobs', paddedJob(MIB))).statusCode).toBe(202)
  })
})
