import { describe, expect, it } from 'vitest'
import { build } from './helper.js'
import { spawnServer } from './spawn-server.js'

describe('GET /healthz', () => {
  it('answers 200 {"status":"ok"}', async () => {
    const app = await build()
    const res = await app.inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  it('answers over a real socket from the built service', async () => {
    const server = await spawnServer()
    const res = await fetch(`${server.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
    expect(await server.stop()).toBe(0)
  })
})
