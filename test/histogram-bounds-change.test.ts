import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Service, startService } from '../src/service.js'
import { MetricStore } from '../src/store/metric-store.js'
import { decodeState, encodeState } from '../src/store/state-file.js'
import { postJson, testConfig } from './helper.js'
import { logLines } from './spawn-server.js'

// HISTOGRAM_BUCKETS changed across a restart that keeps the state file: each
// id's histogram (bucket counts and _sum) starts again together, while the
// total, the all-time sum and everything else carry over. In-process services
// on free loopback ports, one after the other on the same state file.

let dir: string
let stateFile: string
const running: Service[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lt-bounds-'))
  stateFile = join(dir, 'state.bin')
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()))
  await rm(dir, { recursive: true, force: true })
})

/** A service on the test's state file with the given bounds (seconds), its warn-level log captured. */
async function start(histogramBuckets: number[]) {
  const logStream = new PassThrough()
  let log = ''
  logStream.setEncoding('utf8').on('data', (d: string) => (log += d))
  const service = await startService(testConfig({ stateFile, histogramBuckets, logLevel: 'warn', maxEventLoopDelayMs: 0 }), { logStream })
  running.push(service)
  return { service, log: () => log }
}

async function stop(service: Service) {
  running.splice(running.indexOf(service), 1)
  await service.stop()
}

/** The numbers of one id's two families in the Prometheus text format. */
async function families(service: Service, id: string) {
  const res = await service.http.inject({ url: '/metrics?format=prometheus' })
  expect(res.statusCode).toBe(200)
  const value = (name: string) => {
    const line = res.body.split('\n').find((l) => l.startsWith(`${name}{id="${id}"}`))
    expect(line, `${name} in:\n${res.body}`).toBeDefined()
    return Number(line!.split(' ').pop())
  }
  const buckets = res.body
    .split('\n')
    .filter((l) => l.startsWith(`latency_tracker_latency_seconds_bucket{id="${id}",`))
    .map((l) => Number(l.split(' ').pop()))
  return {
    histogramCount: value('latency_tracker_latency_seconds_count'),
    histogramSum: value('latency_tracker_latency_seconds_sum'),
    infBucket: buckets[buckets.length - 1],
    buckets,
    summaryCount: value('latency_tracker_window_latency_seconds_count'),
    summarySum: value('latency_tracker_window_latency_seconds_sum'),
  }
}

async function post(service: Service, id: string, values: number[]) {
  const res = await postJson(service.http, `/metrics/${id}/latency`, { latency_ns: values })
  expect(res.statusCode, res.body).toBe(202)
}

const sumSeconds = (values: number[]) => values.reduce((a, b) => a + b, 0) / 1e9

describe('HISTOGRAM_BUCKETS changed across a restart with the state file', () => {
  it('restarts each histogram whole (counts and _sum) while totals and sums carry over, with one warning', async () => {
    const before = [1_000, 2_000, 3_000]
    const after = [500, 7_000_000]
    const a = await start([0.000001, 0.00001])
    await post(a.service, 'x', before)
    await post(a.service, 'y', [42])
    await stop(a.service)

    const b = await start([0.000002, 0.001, 0.01])
    // Nothing counted over the new bounds yet: an empty histogram, not old _sum with _count 0.
    let x = await families(b.service, 'x')
    expect(x.buckets).toEqual([0, 0, 0, 0])
    expect(x.histogramCount).toBe(0)
    expect(x.histogramSum).toBe(0)
    // The summary's _sum and _count are since the id was created: they carry over.
    expect(x.summaryCount).toBe(before.length)
    expect(x.summarySum).toBeCloseTo(sumSeconds(before), 15)
    // (The other warning of an open service, about AUTH_TOKEN, is not about the state file.)
    const warnings = logLines(b.log()).filter((l) => l.level === 40 && l.stateFile !== undefined)
    expect(warnings, b.log()).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ stateFile, ids: 2 })
    expect(warnings[0].msg).toMatch(/HISTOGRAM_BUCKETS/)

    /** The histogram holds only the samples since the bounds changed; the summary, every sample since the id was created. */
    const expectHistogramAfterSummaryAll = (f: typeof x) => {
      expect(f.histogramCount).toBe(after.length)
      expect(f.histogramCount).toBe(f.infBucket)
      expect(f.histogramSum).toBeCloseTo(sumSeconds(after), 15)
      expect(f.summaryCount).toBe(before.length + after.length)
      expect(f.summarySum).toBeCloseTo(sumSeconds([...before, ...after]), 15)
    }
    await post(b.service, 'x', after)
    x = await families(b.service, 'x')
    expectHistogramAfterSummaryAll(x)
    const json = (await b.service.http.inject({ url: '/metrics/x' })).json()
    expect(json.total).toBe(before.length + after.length)
    await stop(b.service)

    // Same bounds again: the new histogram carries over as it is, with its own sum.
    const c = await start([0.000002, 0.001, 0.01])
    x = await families(c.service, 'x')
    expectHistogramAfterSummaryAll(x)
    expect(
      logLines(c.log()).filter((l) => l.level === 40 && l.stateFile !== undefined),
      c.log(),
    ).toEqual([])
  })
})

/** A state file with its header JSON edited and its checksum made right again. */
function withHeader(file: Buffer, edit: (header: any) => void): Buffer {
  const magic = 8
  const length = file.readUInt32LE(magic)
  const header = JSON.parse(file.toString('utf8', magic + 4, magic + 4 + length))
  edit(header)
  const json = Buffer.from(JSON.stringify(header))
  const pad = (n: number) => (n + 7) & ~7
  const prefix = Buffer.alloc(pad(magic + 4 + json.length))
  file.copy(prefix, 0, 0, magic)
  prefix.writeUInt32LE(json.length, magic)
  json.copy(prefix, magic + 4)
  const samples = file.subarray(pad(magic + 4 + length), file.length - 32)
  const body = Buffer.concat([prefix, samples])
  return Buffer.concat([body, createHash('sha256').update(body).digest()])
}

describe('a state file of an earlier release saved after a change of bounds', () => {
  it('(restarted counts, the old sum, no histogram sum of its own) loads with a whole, empty histogram', async () => {
    const bounds = [1_000, 10_000]
    const first = new MetricStore({ maxMetrics: 10, maxSamples: 10, windowMs: 60_000, bucketBoundsNs: [5_000] })
    first.recordLatencies(first.acquire('x')!, [1_000, 2_000, 3_000])
    const second = new MetricStore({ maxMetrics: 10, maxSamples: 10, windowMs: 60_000, bucketBoundsNs: bounds })
    decodeState(second, await encodeState(first, 0), 0)
    // What that release wrote: zero counts beside the old sum, and no histogramSumNs.
    const legacy = withHeader(await encodeState(second, 0), (header) => {
      for (const m of header.metrics) delete m.histogramSumNs
    })
    const loaded = new MetricStore({ maxMetrics: 10, maxSamples: 10, windowMs: 60_000, bucketBoundsNs: bounds })
    expect(decodeState(loaded, legacy, 0)).toMatchObject({ metrics: 1, histogramRestarted: 1 })
    const x = loaded.get('x')!
    loaded.settle(x)
    expect([0, 1, 2].map((i) => x.bucketCount(i))).toEqual([0, 0, 0])
    expect(x.histogramSumNs).toBe(0)
    expect(x.total).toBe(3)
    expect(x.sumNs).toBe(6_000)
    // The same file with its histogram sum (as this release writes it) keeps it as it is, with no restart.
    const current = await encodeState(second, 0)
    const again = new MetricStore({ maxMetrics: 10, maxSamples: 10, windowMs: 60_000, bucketBoundsNs: bounds })
    expect(decodeState(again, current, 0).histogramRestarted).toBeUndefined()
    expect(again.get('x')!.histogramSumNs).toBe(0)
    expect(again.get('x')!.sumNs).toBe(6_000)
  })
})
