import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { spawnServer } from './spawn-server.js'

describe('slow clients', () => {
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
})
