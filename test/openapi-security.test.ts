import { describe, expect, it } from 'vitest'
import { build } from './helper.js'

// The OpenAPI document declares the bearer scheme only when AUTH_TOKEN is set,
// so Swagger UI shows no locks on an open service.

type Json = Record<string, any>

/** Every security requirement in the document: the top-level one and each operation's. */
function requirements(doc: Json): unknown[] {
  const ops = Object.values(doc.paths as Json).flatMap((item) => Object.values(item as Json)) as Json[]
  return [doc.security, ...ops.map((op) => op.security)].filter((s) => s !== undefined).flat()
}

describe('OpenAPI security', () => {
  it('an open service declares no scheme and requires none', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const doc = (await app.inject({ url: '/docs/json' })).json()
    expect(doc.components?.securitySchemes).toBeUndefined()
    expect(doc.security).toBeUndefined()
    expect(requirements(doc)).toEqual([])
  })

  it('with AUTH_TOKEN the bearer scheme is declared and required everywhere but /healthz', async () => {
    const app = await build({ maxEventLoopDelayMs: 0, authToken: 'secret-token' })
    const res = await app.inject({ url: '/docs/json', headers: { authorization: 'Bearer secret-token' } })
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.components.securitySchemes).toEqual({ bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }) })
    expect(doc.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/healthz'].get.security).toEqual([])
  })
})
