import { describe, expect, it } from 'vitest'
import { build, expectError, postJson } from './helper.js'

// Unknown routes and known paths with a method they do not take: answers in
// the error shape with a code, 405 with Allow, counted like every other answer;
// and a bug of the service's own, in the same shape.

describe('unknown routes', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/metrics/x/nope'],
    ['POST', '/no/such/route'],
    ['GET', '/metrics/x/latency/extra?window_ms=5'],
    // A route takes GET there (the OpenAPI page's files) but has no such file: 404, not a 405 allowing GET.
    ['GET', '/docs/static/nope.js'],
  ])('%s %s is 404 with a code', async (method, url) => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const res = await app.inject({ method: method as 'GET', url })
    expect(expectError(res, 404)).toContain(url.split('?')[0])
    expect(res.json().code).toBe('LT_ROUTE_NOT_FOUND')
    expect(res.headers.allow).toBeUndefined()
  })

  it.each([
    ['PUT', '/metrics/x/latency', 'POST'],
    ['GET', '/metrics/x/latency', 'POST'],
    ['PATCH', '/metrics/x/jobs?count=1', 'POST'],
    ['PUT', '/metrics', 'DELETE, GET, HEAD'],
    ['POST', '/metrics/x', 'DELETE, GET, HEAD'],
    ['DELETE', '/healthz', 'GET, HEAD'],
  ])('%s %s is 405 with Allow: %s', async (method, url, allow) => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const res = await app.inject({ method: method as 'GET', url })
    expect(expectError(res, 405)).toContain(allow)
    expect(res.json().code).toBe('LT_METHOD_NOT_ALLOWED')
    expect(res.headers.allow).toBe(allow)
  })

  it('a 405 stores nothing and is counted as a 4xx', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const res = await app.inject({
      method: 'PUT',
      url: '/metrics/x/latency',
      headers: { 'content-type': 'application/json' },
      payload: '{"latency_ns":5}',
    })
    expect(res.statusCode).toBe(405)
    const list = (await app.inject({ url: '/metrics' })).json()
    expect(list.metrics).toEqual([])
    expect(list.service.requests['4xx']).toBe(1)
  })
})

describe('a bug of the service (500)', () => {
  it('is answered in the error shape with a code, without internals', async () => {
    const app = await build()
    await postJson(app, '/metrics/m/latency', { latency_ns: 9 })
    app.store.snapshot = () => {
      throw new Error('secret internal detail')
    }
    const res = await app.inject({ url: '/metrics/m' })
    expect(expectError(res, 500)).toBe('Internal Server Error')
    expect(res.json()).toEqual({ statusCode: 500, code: 'LT_INTERNAL_ERROR', error: 'Internal Server Error', message: 'Internal Server Error' })
  })
})
