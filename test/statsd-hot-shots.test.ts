import StatsD from 'hot-shots'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startStatsd } from './statsd-helpers.js'
import { JOB_EVENT_NAMES, RefStatsd, msToNsRef } from './statsd-reference.js'

// An unchanged StatsD client (hot-shots, datadog: false) pointed at the service,
// over UDP and over TCP: what it sends must come out of the snapshots exactly.

// hot-shots turns on Datadog extras (origin detection, container ids, env tags)
// when DD_* variables are set: none may leak in from the environment running the tests.
const saved: Record<string, string | undefined> = {}
beforeAll(() => {
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('DD_') || key.startsWith('DATADOG_')) {
      saved[key] = process.env[key]
      delete process.env[key]
    }
  }
})
afterAll(() => Object.assign(process.env, saved))

/** What the test sent, as the store should hold it: values by hot-shots' own formatting (`${value}`), read as ms. */
class Sent extends RefStatsd {
  constructor(private readonly udp: boolean) {
    super()
  }

  private metric(id: string) {
    let m = this.metrics.get(id)
    if (m === undefined) {
      m = { values: [], statuses: [], jobs: Object.fromEntries(JOB_EVENT_NAMES.map((e) => [e, 0])) as Record<(typeof JOB_EVENT_NAMES)[number], number> }
      this.metrics.set(id, m)
    }
    return m
  }

  private line() {
    this.lines++
    if (this.udp) this.packets++
  }

  timer(id: string, ms: number, status?: number) {
    this.metric(id).values.push(Number(msToNsRef(String(ms))))
    this.metric(id).statuses.push(status)
    this.samples++
    this.line()
  }

  job(id: string, event: (typeof JOB_EVENT_NAMES)[number], count: number) {
    this.metric(id).jobs[event] += count
    this.line()
  }
}

describe.each(['udp', 'tcp'] as const)('hot-shots over %s', (protocol) => {
  it('timing, histogram, distribution, sampled timings, tags with a status, increments of <id>.completed', async () => {
    const h = await startStatsd()
    const errors: Error[] = []
    const client = new StatsD({
      host: '127.0.0.1',
      port: protocol === 'udp' ? h.udpPort : h.tcpPort,
      protocol,
      datadog: false,
      includeDataDogTags: false,
      errorHandler: (err) => errors.push(err),
    })
    expect((client as unknown as { globalTags: string[] }).globalTags, 'no tags from the environment').toEqual([])
    const sent = new Sent(protocol === 'udp')
    // Sampling draws Math.random() < rate: 0 sends every sampled call (with its |@rate).
    const random = vi.spyOn(Math, 'random').mockReturnValue(0)
    try {
      for (const ms of [12, 0.5, 1000, 3.25, 0.000001, 86_400_000, 12.3456789]) {
        client.timing('checkout', ms)
        sent.timer('checkout', ms)
      }
      client.timing('checkout', 7, 0.5)
      sent.timer('checkout', 7)
      client.timing('checkout', 8.5, 0.1, { status: '503' })
      sent.timer('checkout', 8.5, 503)
      client.timing('api.users', 41.5, ['status:200', 'region:eu'])
      sent.timer('api.users', 41.5, 200)
      client.timing('api.users', 2, { status: '404' })
      sent.timer('api.users', 2, 404)
      client.timing('api.users', 900, { status: '0' })
      sent.timer('api.users', 900, 0)
      client.histogram('db.query', 7.25, { status: '200' })
      sent.timer('db.query', 7.25, 200)
      client.histogram('db.query', 0.75)
      sent.timer('db.query', 0.75)
      client.distribution('render', 16.6)
      sent.timer('render', 16.6)
      client.distribution('render', 33.3, 0.25, { status: '500' })
      sent.timer('render', 33.3, 500)
      client.increment('worker.completed')
      sent.job('worker', 'completed', 1)
      client.increment('worker.completed', 4)
      sent.job('worker', 'completed', 4)
      client.increment('worker.started', 3, 0.5)
      sent.job('worker', 'started', 6)
      client.increment('worker.failed', 1, { status: '500' })
      sent.job('worker', 'failed', 1)
    } finally {
      random.mockRestore()
    }
    await new Promise<void>((resolve, reject) => client.close((err) => (err ? reject(err) : resolve())))
    await h.waitForCounts({ lines: sent.lines })
    expect(errors).toEqual([])
    await h.expectToMatch(sent)
    const worker = await h.getJson('/metrics/worker')
    expect(worker.jobs).toMatchObject({ completed: 5, started: 6, failed: 1, in_progress: 0 })
  })
})
