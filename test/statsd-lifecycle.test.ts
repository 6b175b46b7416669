import dgram from 'node:dgram'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from './wait-for.js'
import { logLines, runToExit, type ServerProcess, spawnServer } from './spawn-server.js'

// The StatsD listeners as part of the built service's lifecycle (dist/main.js as
// a child process), on 127.0.0.1 only. Waits are bounded polls, never timings.

const WINDOW_MS = '3600000'
/** No 503s for event-loop delay: a loaded test machine must not turn reads into overload answers. */
const NO_OVERLOAD = { MAX_EVENT_LOOP_DELAY_MS: '0' }

function getJson(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (text += d))
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode}: ${text}`))))
      })
      .on('error', reject)
  })
}

/** The StatsD ports from the startup log. */
function statsdPorts(server: ServerProcess): { udp: number; tcp: number } {
  const line = logLines(server.output()).find((l) => l.statsd_udp_port !== undefined)
  expect(line, server.output()).toBeDefined()
  expect(line!.msg).toBe(`StatsD listening on udp://127.0.0.1:${line!.statsd_udp_port} and tcp://127.0.0.1:${line!.statsd_tcp_port}`)
  return { udp: line!.statsd_udp_port, tcp: line!.statsd_tcp_port }
}

function sendUdp(port: number, text: string): Promise<void> {
  const socket = dgram.createSocket('udp4')
  return new Promise<void>((resolve, reject) =>
    socket.send(text, port, '127.0.0.1', (err) => {
      socket.close()
      if (err) reject(err)
      else resolve()
    }),
  )
}

/** Binds something to a free port on 127.0.0.1 (UDP or TCP) and returns the port and a way to let it go. */
async function occupy(transport: 'udp' | 'tcp'): Promise<{ port: number; release: () => Promise<void> }> {
  if (transport === 'udp') {
    const socket = dgram.createSocket('udp4')
    socket.bind(0, '127.0.0.1')
    await once(socket, 'listening')
    return { port: socket.address().port, release: () => new Promise((resolve) => socket.close(() => resolve())) }
  }
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as net.AddressInfo).port, release: () => new Promise((resolve) => server.close(() => resolve())) }
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latency-tracker-statsd-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('StatsD listeners in the service lifecycle', () => {
  it.each(['udp', 'tcp'] as const)('a STATSD_PORT taken (%s) stops the start with one line naming STATSD_PORT, exit 2', async (transport) => {
    const taken = await occupy(transport)
    try {
      const result = await runToExit({ STATSD_PORT: String(taken.port) })
      expect(result.timedOut).toBe(false)
      expect(result.code, result.stdout + result.stderr).toBe(2)
      const lines = result.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(new RegExp(`^latency-tracker: cannot start: STATSD_PORT ${taken.port} .*${transport}.*EADDRINUSE`))
      expect(result.stdout).not.toContain('listening on http')
    } finally {
      await taken.release()
    }
  })

  it('STATSD_PORT=off: no listener, no service.statsd', async () => {
    const server = await spawnServer({ ...NO_OVERLOAD, STATSD_PORT: 'off' })
    expect(server.output()).not.toContain('StatsD listening')
    expect((await getJson(`${server.url}/metrics`)).service).not.toHaveProperty('statsd')
    expect(await server.stop()).toBe(0)
  })

  it('SIGTERM while a TCP client is connected: stops receiving, saves what it took, exits 0; a restart has the StatsD samples', async () => {
    const stateFile = join(dir, 'state.bin')
    const env = { ...NO_OVERLOAD, STATSD_PORT: '0', STATE_FILE: stateFile, WINDOW_MS, STATE_INTERVAL_MS: '3600000' }
    const first = await spawnServer(env)
    const ports = statsdPorts(first)
    await sendUdp(ports.udp, 'checkout:12.5|ms|#status:200\ncheckout:1:2:3|ms\nworker.completed:2|c')
    const client = net.connect(ports.tcp, '127.0.0.1')
    client.on('error', () => undefined)
    await once(client, 'connect')
    client.write('checkout:40|ms|#status:503\nworker.started:3|c\npartial:1|')
    await waitFor('every line recorded', async () => (await getJson(`${first.url}/metrics`)).service.statsd.lines >= 5)
    const before = await getJson(`${first.url}/metrics`)
    expect(before.service.statsd).toMatchObject({ packets: 1, lines: 5, samples: 5, bad_lines: 0 })

    const clientClosed = once(client, 'close')
    expect(await first.stop('SIGTERM')).toBe(0)
    await clientClosed
    await first.closed()
    const stopping = logLines(first.output())
    expect(
      stopping.filter((l) => l.level >= 50),
      first.output(),
    ).toEqual([])

    const second = await spawnServer(env)
    const after = await getJson(`${second.url}/metrics`)
    expect(after.metrics).toEqual(before.metrics)
    expect(after.metrics.map((m: { id: string }) => m.id)).toEqual(['checkout', 'worker'])
    // The StatsD counters are the process's own: a new process starts them at 0.
    expect(after.service.statsd).toEqual({ packets: 0, lines: 0, samples: 0, bad_lines: 0, ignored_lines: 0, dropped_lines: 0 })
    // And it takes StatsD on the same terms after the restart.
    await sendUdp(statsdPorts(second).udp, 'checkout:7|ms')
    await waitFor('the new sample', async () => (await getJson(`${second.url}/metrics/checkout`)).total === before.metrics[0].total + 1)
    expect(await second.stop()).toBe(0)
  })
})
