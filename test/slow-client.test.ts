import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { build } from './helper.js'
import { spawnServer } from './spawn-server.js'

describe('slow clients', () => {
  it('starts with the longest timeouts the settings allow (headers past the 300 s Node assumes for a whole request)', async () => {
    const app = await build({ headersTimeoutMs: 600_000, requestTimeoutMs: 3_600_000 })
    expect([app.server.headersTimeout, app.server.requestTimeout]).toEqual([600_000, 3_600_000])
  })

  it('closes a connection that trickles its headers one byte a second', async () => {
    const server = await spawnServer({ HEADERS_TIMEOUT_MS: '1500', REQUEST_TIMEOUT_MS: '3000' })
    const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ' + 'x'.repeat(40) + '\r\n\r\n'
    const socket = connect(server.port, '127.0.0.1')
    let sent = 0
    let response = ''
    socket.setEncoding('utf8').on('data', (d: string) => (response += d))
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    let open = true
    socket.on('close', () => (open = false))
    socket.on('error', () => {})
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
    // Bounded: the whole request would take ~80 s at this pace.
    while (open && sent < request.length) {
      socket.write(request[sent++])
      await new Promise((r) => setTimeout(r, 1_000))
    }
    await closed
    expect(sent).toBeLessThan(request.length)
    expect(response === '' || response.startsWith('HTTP/1.1 408')).toBe(true)
    // The service keeps serving everyone else.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect(await server.stop()).toBe(0)
  })

  it('keeps a connection open between requests, with one 65 s inactivity timeout for idle and stalled connections', async () => {
    const app = await build()
    const { port } = app.server.address() as { port: number }
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    let received = ''
    socket.setEncoding('utf8').on('data', (d: string) => (received += d))
    const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
    const answers = async (n: number) => {
      while ((received.match(/HTTP\/1\.1 200/g) ?? []).length < n) await new Promise((r) => setTimeout(r, 10))
    }
    socket.write(request)
    await answers(1)
    socket.write(request)
    await answers(2)
    expect(socket.destroyed).toBe(false)
    expect(received).toMatch(/connection: keep-alive/i)
    // Node's timer for the whole connection (server.timeout), not a keep-alive timer re-armed per request.
    expect(app.server.timeout).toBe(65_000)
    expect(app.server.keepAliveTimeout).toBe(0)
    socket.destroy()
  })
})
