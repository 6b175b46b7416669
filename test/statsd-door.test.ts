import { once } from 'node:events'
import net from 'node:net'
import { PassThrough } from 'node:stream'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BadLineLog } from '../src/statsd/bad-line-log.js'
import { StatsdCounters } from '../src/statsd/statsd-counters.js'
import { StatsdDoor } from '../src/statsd/statsd-door.js'
import { MAX_TCP_LINE_BYTES } from '../src/statsd/tcp-line-framer.js'
import { MetricStore } from '../src/store/metric-store.js'
import { build } from './helper.js'
import { promtoolCheckMetrics, skipWithout } from './prometheus-tools.js'
import { datagramText, nearValidLine } from './statsd-arbitraries.js'
import { DAY_MS, startStatsd } from './statsd-helpers.js'
import { waitFor } from './wait-for.js'
import { RefStatsd, refLines, refParseLine } from './statsd-reference.js'

/** The largest UDP payload over IPv4 (65,535 − 8 UDP − 20 IP header bytes). */
const MAX_DATAGRAM = 65_507

describe('StatsD over UDP: datagrams', () => {
  it('several lines per datagram, both multi-value forms, \\r\\n, names that need cleaning', async () => {
    const h = await startStatsd()
    const ref = new RefStatsd()
    const datagrams = [
      'checkout:12|ms\ncheckout:1:2:3|ms\r\ncheckout:4|ms:5.5|h|@0.5:6|d\n',
      'my service/GET users:0.25|ms|#status:200\n\nmy service/GET users:1.5|ms|#env:prod,status:503\r\n\r\n',
      'worker.started:3|c\nworker.completed:1|c|@0.5\nworker.failed:1|c\nworker:7|ms|#status:0',
      'a:1|ms',
    ]
    for (const d of datagrams) {
      await h.sendUdp(d)
      ref.apply(d, true)
    }
    await h.waitForCounts({ packets: datagrams.length })
    expect(ref.bad + ref.ignored + ref.dropped).toBe(0)
    expect([...ref.metrics.keys()].sort()).toEqual(['a', 'checkout', 'my_service-GET_users', 'worker'])
    await h.expectToMatch(ref)
  })

  it(`a datagram of exactly ${MAX_DATAGRAM.toLocaleString('en-US')} bytes`, async () => {
    const h = await startStatsd()
    const lines: string[] = []
    let size = 0
    for (let i = 0; size < MAX_DATAGRAM - 200; i++) {
      lines.push(`big.${i % 50}:${(i % 977) + 0.125}|ms|#status:${200 + (i % 5)}`)
      size += lines[lines.length - 1].length + 1
    }
    // One last line padded to land exactly on the limit.
    const last = `pad:1|ms|#note:`
    lines.push(last + 'x'.repeat(MAX_DATAGRAM - size - last.length))
    const datagram = Buffer.from(lines.join('\n'))
    expect(datagram.length).toBe(MAX_DATAGRAM)
    const ref = new RefStatsd()
    ref.apply(datagram.toString(), true)
    await h.sendUdp(datagram)
    await h.waitForCounts({ packets: 1 })
    expect(ref.samples).toBe(lines.length)
    await h.expectToMatch(ref)
  })

  it('every kind of bad line is counted and stores nothing, and the lines around it are kept', async () => {
    const h = await startStatsd()
    const badLines = [
      'no-colon',
      'no-type:12',
      'unknown-type:12|x',
      'mixed:1|ms:2|c',
      'empty-value:|ms',
      'zero:0|ms',
      'negative:-1|ms',
      'nan:NaN|ms',
      'too-big:9007199254.7409915|ms',
      'one-bad-value:1:2:x|ms',
      'rate:1|ms|@2',
      'rate-text:1|ms|@half',
      'status:1|ms|#status:1000',
      'status-text:1|ms|#status:2xx',
      'two-statuses:1|ms|#status:200,status:500',
      ':1|ms',
      '!!!:1|ms',
      `${'a'.repeat(129)}:1|ms`,
      '.completed:1|c',
      'job.completed:0|c',
      'job.completed:1000001|c',
      'job.completed:x|c',
      `many:${Array(10_001).fill('1').join(':')}|ms`,
    ]
    const ref = new RefStatsd()
    let n = 0
    for (const bad of badLines) {
      const d = `good.before:${++n}|ms\n${bad}\ngood.after:${n}|ms|#status:200\ngood.jobs.completed:1|c`
      await h.sendUdp(d)
      ref.apply(d, true)
    }
    await h.waitForCounts({ packets: badLines.length })
    expect(ref.bad).toBe(badLines.length)
    expect([...ref.metrics.keys()].sort()).toEqual(['good.after', 'good.before', 'good.jobs'])
    await h.expectToMatch(ref)
  })

  it('a new id beyond MAX_METRICS drops its line (counted); existing ids keep working', async () => {
    const h = await startStatsd({ maxMetrics: 2 })
    const ref = new RefStatsd(2)
    const datagrams = ['a:1|ms\nb:2|ms', 'c:3|ms\nd.completed:1|c\na:4|ms\nb.started:2|c', 'e:1:2:3|ms']
    for (const d of datagrams) {
      await h.sendUdp(d)
      ref.apply(d, true)
    }
    await h.waitForCounts({ packets: datagrams.length })
    expect(ref.dropped).toBe(3)
    await h.expectToMatch(ref)
  })

  it('fuzz: random bytes and near-valid lines never crash it, never store a bad line, and the counters add up', async () => {
    const h = await startStatsd({ maxSamples: 1_000_000 })
    const ref = new RefStatsd()
    const datagrams = [
      ...fc.sample(datagramText, { numRuns: 300, seed: 12 }).map((text) => Buffer.from(text)),
      ...fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { numRuns: 100, seed: 12 }).map((bytes) => Buffer.from(bytes)),
      ...fc
        .sample(fc.tuple(fc.uint8Array({ maxLength: 40 }), nearValidLine, fc.uint8Array({ maxLength: 40 })), { numRuns: 100, seed: 12 })
        .map(([a, line, b]) => Buffer.concat([Buffer.from(a), Buffer.from(`\n${line}\n`), Buffer.from(b)])),
    ]
    for (const d of datagrams) {
      await h.sendUdp(d)
      ref.apply(d.toString('utf8'), true)
    }
    await h.waitForCounts({ packets: datagrams.length })
    // Some of every kind, so the property covers them all.
    expect(ref.bad).toBeGreaterThan(50)
    expect(ref.ignored).toBeGreaterThan(20)
    expect(ref.samples).toBeGreaterThan(30)
    await h.expectToMatch(ref)
    const c = await h.counts()
    const prometheus = await h.service.http.inject({ method: 'GET', url: '/metrics?format=prometheus' })
    const ok = Number(/latency_tracker_statsd_lines_total\{result="ok"\} (\d+)/.exec(prometheus.body)?.[1])
    expect(c.lines).toBe(ok + c.bad_lines + c.ignored_lines + c.dropped_lines)
    expect(ok).toBe([...datagrams].flatMap((d) => refLines(d.toString())).filter((l) => ['timer', 'job'].includes(refParseLine(l).kind)).length)
  })
})

describe('StatsD visibility', () => {
  it('GET /metrics has service.statsd, and the Prometheus output has its counters', async () => {
    const h = await startStatsd()
    await h.sendUdp('a:1|ms\na:2:3|ms\nbad\nq:1|g')
    await h.waitForCounts({ packets: 1 })
    expect(await h.counts()).toEqual({ packets: 1, lines: 4, samples: 3, bad_lines: 1, ignored_lines: 1, dropped_lines: 0 })
    for (const format of ['prometheus', 'openmetrics']) {
      const res = await h.service.http.inject({ method: 'GET', url: `/metrics?format=${format}` })
      expect(res.statusCode).toBe(200)
      expect(res.body).toContain('latency_tracker_statsd_packets_total 1\n')
      expect(res.body).toContain('latency_tracker_statsd_lines_total{result="ok"} 2\n')
      expect(res.body).toContain('latency_tracker_statsd_lines_total{result="bad"} 1\n')
      expect(res.body).toContain('latency_tracker_statsd_lines_total{result="ignored"} 1\n')
      expect(res.body).toContain('latency_tracker_statsd_lines_total{result="dropped"} 0\n')
      expect(res.body).toContain('latency_tracker_statsd_samples_total 3\n')
    }
  })

  it.skipIf(skipWithout(['promtool'], 'promtool check of the StatsD families'))('promtool finds nothing to say about the StatsD families', async () => {
    const h = await startStatsd()
    await h.sendUdp('a:1|ms\nbad')
    await h.waitForCounts({ packets: 1 })
    const text = (await h.service.http.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body
    expect(text).toContain('latency_tracker_statsd_lines_total{result="bad"} 1\n')
    expect(promtoolCheckMetrics(text)).toEqual({ status: 0, problems: [] })
  })

  it('with STATSD_PORT=off there is no listener, no service.statsd and no StatsD family', async () => {
    const app = await build({ statsdPort: 'off' })
    const json = (await app.inject({ method: 'GET', url: '/metrics' })).json()
    expect(json.service).not.toHaveProperty('statsd')
    const text = (await app.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body
    expect(text).not.toContain('latency_tracker_statsd')
  })

  it('logs the first bad line of a minute at warn, the others at debug only', async () => {
    for (const level of ['warn', 'debug'] as const) {
      const logStream = new PassThrough()
      let logged = ''
      logStream.on('data', (d: Buffer) => (logged += d.toString()))
      const h = await startStatsd({ logLevel: level, logStream })
      await h.sendUdp('bad one\nbad two\ngood:1|ms\nbad:three|ms')
      await h.sendUdp('bad four')
      await h.waitForCounts({ packets: 2 })
      await waitFor('log lines', () => logged.includes('bad four') || level === 'warn')
      const entries = logged
        .split('\n')
        .filter((l) => l.includes('StatsD: bad line'))
        .map((l) => JSON.parse(l) as { level: number; line: string })
      expect(entries.filter((e) => e.level === 40).map((e) => e.line)).toEqual(['bad one'])
      expect(entries.filter((e) => e.level === 20).map((e) => e.line)).toEqual(level === 'debug' ? ['bad two', 'bad:three|ms', 'bad four'] : [])
    }
  })
})

/** Resolves when the server has closed the socket (its 'close' event). */
async function closedByServer(socket: net.Socket): Promise<void> {
  if (socket.closed) return
  await once(socket, 'close')
}

describe('StatsD over TCP', () => {
  it('lines split across writes, \\r\\n, several connections', async () => {
    const h = await startStatsd()
    const ref = new RefStatsd()
    const one = await h.connectTcp()
    const two = await h.connectTcp()
    const stream1 = ['checkout:1|ms\r\nchec', 'kout:2:3|ms|#status:2', '01\nworker.completed:2|c\n', 'é/ü:4|ms\n']
    const stream2 = ['x:5|ms\n', 'x:6|ms|@0.5\nbad\n']
    for (let i = 0; i < Math.max(stream1.length, stream2.length); i++) {
      if (stream1[i] !== undefined) one.write(stream1[i])
      if (stream2[i] !== undefined) two.write(stream2[i])
      await new Promise((resolve) => setImmediate(resolve))
    }
    ref.apply(stream1.join(''), false)
    ref.apply(stream2.join(''), false)
    await h.waitForCounts({ lines: ref.lines })
    await h.expectToMatch(ref)
  })

  it(`a line over ${MAX_TCP_LINE_BYTES} bytes is bad, logged by its start, and closes its connection; the lines before it are kept`, async () => {
    const logStream = new PassThrough()
    let log = ''
    logStream.setEncoding('utf8').on('data', (d: string) => (log += d))
    const h = await startStatsd({ logStream, logLevel: 'warn' })
    const socket = await h.connectTcp()
    socket.on('error', () => undefined)
    socket.write(`before:1|ms\nlong.one:${'7'.repeat(MAX_TCP_LINE_BYTES + 1)}`)
    await closedByServer(socket)
    await h.waitForCounts({ lines: 2 })
    expect(await h.counts()).toMatchObject({ lines: 2, bad_lines: 1, samples: 1 })
    expect((await h.getJson('/metrics/before')).count).toBe(1)
    const warning = log
      .split('\n')
      .filter((l) => l.includes('longer than'))
      .map((l) => JSON.parse(l) as { line: string })
    expect(warning.map((w) => w.line)).toEqual([`long.one:${'7'.repeat(191)}`]) // the 200 characters logged
  })

  it('a line the client leaves unfinished when it closes is bad', async () => {
    const h = await startStatsd()
    const socket = await h.connectTcp()
    socket.end('done:1|ms\nunfinished:2|ms')
    await h.waitForCounts({ lines: 2 })
    expect(await h.counts()).toMatchObject({ lines: 2, bad_lines: 1, samples: 1 })
    expect((await h.getJson('/metrics')).metrics.map((m: { id: string }) => m.id)).toEqual(['done'])
  })

  it('closes connections beyond the bound, and keeps the others open across a silence', async () => {
    const store = new MetricStore({ maxMetrics: 100, maxSamples: 100, windowMs: DAY_MS })
    const counters = new StatsdCounters()
    const log = { level: 'silent', info() {}, warn() {}, debug() {}, error() {} }
    const door = new StatsdDoor({ store, counters, host: '127.0.0.1', port: 0, log, maxTcpConnections: 2 })
    await door.start()
    try {
      const connect = async () => {
        const s = net.connect(door.tcpPort, '127.0.0.1')
        s.on('error', () => undefined)
        await once(s, 'connect')
        return s
      }
      const idle = await connect()
      const busy = await connect()
      // A third connection is closed at once: the bound is 2.
      const third = await connect()
      await closedByServer(third)
      idle.write('before:1|ms\n')
      await waitFor('the first line', () => counters.counts().lines === 1)
      // Silent for a while, then a line again: the connection is still there and the line counts.
      // (That no idle timer closes it at all, as hot-shots needs, would take minutes to show.)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(idle.closed).toBe(false)
      idle.write('after:1|ms\n')
      await waitFor('the line after the silence', () => counters.counts().lines === 2)
      expect([store.get('before')?.total, store.get('after')?.total]).toEqual([1, 1])
      expect(counters.counts().bad_lines).toBe(0)
      idle.destroy()
      busy.destroy()
    } finally {
      await door.stop()
    }
  })

  it('stop() closes connected clients and stops receiving on both transports', async () => {
    const store = new MetricStore({ maxMetrics: 100, maxSamples: 100, windowMs: DAY_MS })
    const counters = new StatsdCounters()
    const log = { level: 'silent', info() {}, warn() {}, debug() {}, error() {} }
    const door = new StatsdDoor({ store, counters, host: '127.0.0.1', port: 0, log })
    await door.start()
    const client = net.connect(door.tcpPort, '127.0.0.1')
    client.on('error', () => undefined)
    await once(client, 'connect')
    client.write('kept:1|ms\n')
    await waitFor('the line', () => counters.counts().lines === 1)
    await door.stop()
    await closedByServer(client)
    const refused = net.connect(door.tcpPort, '127.0.0.1')
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException]
    expect(err.code).toBe('ECONNREFUSED')
    expect(store.get('kept')?.total).toBe(1)
  })
})

describe('BadLineLog', () => {
  it('warns at most once a minute, with how many bad lines it left at debug in between', () => {
    let t = 0
    const warned: Record<string, unknown>[] = []
    const debugged: Record<string, unknown>[] = []
    const log = {
      level: 'debug',
      info() {},
      error() {},
      warn: (o: object) => warned.push(o as Record<string, unknown>),
      debug: (o: object) => debugged.push(o as Record<string, unknown>),
    }
    const bad = new BadLineLog(log, () => t)
    const source = { address: '127.0.0.1', port: 5000 }
    for (t = 0; t < 130_000; t += 10_000) bad.report('why', `line at ${t}`, 0, `line at ${t}`.length, 'udp', source)
    expect(warned.map((w) => [w.line, w.bad_lines_since_last_warning])).toEqual([
      ['line at 0', 0],
      ['line at 60000', 5],
      ['line at 120000', 5],
    ])
    expect(debugged).toHaveLength(10)
    expect(warned[0]).toMatchObject({ reason: 'why', transport: 'udp', from: '127.0.0.1:5000' })
  })
})
