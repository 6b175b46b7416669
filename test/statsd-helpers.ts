import dgram from 'node:dgram'
import net from 'node:net'
import { afterEach, expect } from 'vitest'
import type { Config } from '../src/config.js'
import { type Service, type ServiceHooks, startService } from '../src/service.js'
import { testConfig } from './helper.js'
import { alignMean, refStats } from './reference.js'
import { waitFor } from './wait-for.js'
import type { RefMetric, RefStatsd } from './statsd-reference.js'

/** A window no test outlives, so every sample sent is in it. */
export const DAY_MS = 86_400_000

const services: Service[] = []
const clients: (dgram.Socket | net.Socket)[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) {
    if (client instanceof net.Socket) client.destroy()
    else client.close()
  }
  await Promise.all(services.splice(0).map((service) => service.stop()))
})

export interface StatsdHarness {
  service: Service
  udpPort: number
  tcpPort: number
  /** GET a JSON route through app.inject. */
  getJson(url: string): Promise<any>
  /** service.statsd from GET /metrics. */
  counts(): Promise<Record<string, number>>
  /** Sends one datagram to the StatsD UDP port. */
  sendUdp(payload: string | Buffer): Promise<void>
  /** A TCP connection to the StatsD port, closed after the test. */
  connectTcp(): Promise<net.Socket>
  /** Waits until service.statsd shows at least `packets` datagrams and `lines` lines. */
  waitForCounts(want: { packets?: number; lines?: number }): Promise<void>
  /** Asserts that the store holds exactly what the reference says: every id, its snapshot, and the counters. */
  expectToMatch(ref: RefStatsd): Promise<void>
}

/** Starts the whole service in-process with StatsD on free loopback ports (stopped after the test). */
export async function startStatsd(options: Partial<Config> & ServiceHooks = {}): Promise<StatsdHarness> {
  const { logStream, now, ...config } = options
  // No 503s for event-loop delay: a loaded test machine must not turn reads into overload answers.
  const service = await startService(testConfig({ statsdPort: 0, windowMs: DAY_MS, maxEventLoopDelayMs: 0, ...config }), { logStream, now })
  services.push(service)
  const door = service.statsd
  if (door === undefined) throw new Error('StatsD door is off')
  const udp = dgram.createSocket('udp4')
  clients.push(udp)
  const getJson = async (url: string) => {
    const res = await service.http.inject({ method: 'GET', url })
    expect(res.statusCode, res.body).toBe(200)
    return res.json()
  }
  const counts = async () => (await getJson('/metrics')).service.statsd as Record<string, number>
  return {
    service,
    udpPort: door.udpPort,
    tcpPort: door.tcpPort,
    getJson,
    counts,
    sendUdp: (payload) => new Promise<void>((resolve, reject) => udp.send(payload, door.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve()))),
    connectTcp: async () => {
      const socket = net.connect(door.tcpPort, '127.0.0.1')
      clients.push(socket)
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('error', reject)
      })
      return socket
    },
    waitForCounts: (want) =>
      waitFor(`StatsD counts ${JSON.stringify(want)}`, async () => {
        const c = await counts()
        return c.packets >= (want.packets ?? 0) && c.lines >= (want.lines ?? 0)
      }),
    async expectToMatch(ref) {
      const all = await getJson('/metrics')
      expect(all.service.statsd).toEqual(ref.counts())
      const snapshots = all.metrics as Record<string, unknown>[]
      expect(snapshots.map((m) => m.id)).toEqual([...ref.metrics.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
      // From the list rather than GET /metrics/:id: an id such as ".." is not a URL path segment.
      for (const got of snapshots) expectSnapshot(got, got.id as string, ref.metrics.get(got.id as string)!, config.windowMs ?? DAY_MS)
    },
  }
}

/** Asserts a snapshot from the service against the reference's metric, every field exactly (the mean within float summation). */
export function expectSnapshot(got: Record<string, unknown>, id: string, metric: RefMetric, windowMs: number): void {
  const stats = refStats(metric.values.map((value, i) => ({ value, time: 0, status: metric.statuses[i] })))
  const { started, completed, failed } = metric.jobs
  const want = {
    id,
    window_ms: windowMs,
    total: metric.values.length,
    ...stats,
    jobs: { ...metric.jobs, in_progress: Math.max(0, started - completed - failed) },
  }
  const picked = Object.fromEntries(Object.keys(want).map((key) => [key, got[key]]))
  expect(alignMean(picked, want), `snapshot of ${id}`).toEqual(want)
}
