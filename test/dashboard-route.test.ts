// The dashboard's URLs (src/dashboard/route.ts has no DOM, so Node runs it): every id the
// service accepts reaches it through the path the page fetches, except "." and "..",
// which no URL a browser sends can name.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { metricPath, parseRoute, routeHash } from '../src/dashboard/route.js'
import { build, postJson } from './helper.js'

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-'.split('')
/** Any id the service accepts (1–128 of its characters), dots weighted up so "." and ".." come up. */
const anyId = fc.oneof(
  fc.constantFrom('.', '..', '...', '.a', 'a.', 'a..b'),
  fc.array(fc.constantFrom(...ID_CHARS, '.', '.', '.'), { minLength: 1, maxLength: 128 }).map((chars) => chars.join('')),
)
/** Where the page's own URLs resolve: Node's URL follows the same standard as the browser's. */
const ORIGIN = 'http://127.0.0.1:8080'

describe('dashboard metric paths', () => {
  it('names every id in a path the browser sends as written', () => {
    expect(metricPath('checkout')).toBe('/metrics/checkout')
    expect(metricPath('payments.refund', '/series')).toBe('/metrics/payments.refund/series')
    expect(metricPath('a:b')).toBe('/metrics/a%3Ab')
    fc.assert(
      fc.property(anyId, fc.constantFrom('', '/series'), (id, suffix) => {
        const path = metricPath(id, suffix)
        expect(path === null, id).toBe(id === '.' || id === '..')
        if (path !== null) expect(new URL(path, ORIGIN).pathname).toBe(path)
      }),
    )
  })

  it('has no path for "." and "..": the URL standard resolves them, written as dots or as %2E', () => {
    expect(metricPath('.')).toBeNull()
    expect(metricPath('..', '/series')).toBeNull()
    // Why: each spelling of these segments resolves away before a request is sent.
    for (const segment of ['..', '%2E%2E', '.%2e']) expect(new URL(`/metrics/${segment}`, ORIGIN).pathname).toBe('/')
    for (const segment of ['.', '%2E']) expect(new URL(`/metrics/${segment}/series`, ORIGIN).pathname).toBe('/metrics/series')
  })

  it('keeps "." and ".." in the page URL, where the fragment is not resolved', () => {
    for (const id of ['.', '..']) {
      const hash = routeHash({ view: 'metric', id, params: new URLSearchParams('status=2xx') })
      expect(new URL(hash, ORIGIN).hash).toBe(hash)
      const route = parseRoute(hash)
      expect(route.view === 'metric' && route.id).toBe(id)
    }
  })

  it('reads back the same id from the service for every path it gives', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    await fc.assert(
      fc.asyncProperty(anyId, async (id) => {
        const path = metricPath(id)
        if (path === null) return
        const written = await postJson(app, `${path}/latency`, { latency_ns: [5] })
        expect(written.statusCode, written.body).toBe(202)
        const read = await app.inject({ url: path })
        expect(read.statusCode, read.body).toBe(200)
        expect(read.json().id).toBe(id)
        expect((await app.inject({ url: `${path}/series` })).json().id).toBe(id)
        expect((await app.inject({ method: 'DELETE', url: path })).statusCode).toBe(204)
      }),
      { numRuns: 200 },
    )
  })
})
