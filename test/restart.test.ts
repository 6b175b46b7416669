import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MetricStore } from '../src/store/metric-store.js'
import { decodeState, encodeState } from '../src/store/state-file.js'
import { logLines, runToExit, type ServerProcess, spawnServer } from './spawn-server.js'
import { waitFor } from './wait-for.js'

// The state file across real restarts of the built service (dist/main.js), on
// 127.0.0.1 only. No assertion depends on timing: waits are bounded polls.

/** Large, so that no sample ages out between a read before a restart and one after. */
const WINDOW_MS = 3_600_000

interface Reply {
  status: number
  text: string
}

/** One request over a fresh connection (no keep-alive, so nothing holds a shutdown up). */
function request(url: string, method = 'GET', body?: unknown): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const headers: http.OutgoingHttpHeaders = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

async function getJson(url: string): Promise<any> {
  const res = await request(url)
  expect(res.status, res.text).toBe(200)
  return JSON.parse(res.text)
}

async function postLatency(server: ServerProcess, id: string, latency_ns: number | number[]) {
  const res = await request(`${server.url}/metrics/${id}/latency`, 'POST', { latency_ns })
  expect(res.status, res.text).toBe(202)
}

async function postJob(server: ServerProcess, id: string, event: string, count?: number) {
  const res = await request(`${server.url}/metrics/${id}/jobs`, 'POST', count === undefined ? { event } : { event, count })
  expect(res.status, res.text).toBe(202)
}

/** Decodes a state file as a new process would, into a store with this test's limits. */
function decodeFile(data: Buffer): MetricStore {
  const store = new MetricStore({ maxMetrics: 10_000, maxSamples: 10_000, windowMs: WINDOW_MS })
  decodeState(store, data, Date.now())
  return store
}

function samplesOf(store: MetricStore, id: string): number[] {
  const values: number[] = []
  store.get(id)?.forEach((v) => values.push(v))
  return values
}

let dir: string
let stateFile: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latency-tracker-restart-'))
  stateFile = join(dir, 'state.bin')
})

afterEach(async () => {
  // spawn-server.ts kills any process a test left running; its files go here.
  await rm(dir, { recursive: true, force: true })
})

function start(env: Record<string, string> = {}) {
  return spawnServer({ STATE_FILE: stateFile, WINDOW_MS: String(WINDOW_MS), STATE_INTERVAL_MS: '3600000', ...env })
}

describe('SIGTERM and restart with the same STATE_FILE', () => {
  it('every snapshot is identical afterwards, and totals and counters continue', async () => {
    const first = await start()
    const ids = ['checkout', '__proto__', 'constructor', 'a.b:c-D_9', 'jobs-only', 'z']
    await postLatency(first, 'checkout', [1_200, 1_500, 98_000, 3_000_000_000, 7])
    await postLatency(first, 'checkout', 64_000)
    await postLatency(first, '__proto__', [5, 5, 5, 9_007_199_254_740_991])
    await postLatency(
      first,
      'constructor',
      Array.from({ length: 1_000 }, (_, i) => ((i * 7_919) % 100_003) + 1),
    )
    await postLatency(first, 'a.b:c-D_9', 42)
    await postLatency(first, 'z', [1, 2])
    await postJob(first, 'jobs-only', 'created', 10)
    await postJob(first, 'jobs-only', 'started', 7)
    await postJob(first, 'jobs-only', 'completed', 3)
    await postJob(first, 'jobs-only', 'failed')
    await postJob(first, 'jobs-only', 'retried', 2)
    await postJob(first, '__proto__', 'started', 4)
    await postJob(first, 'checkout', 'failed', 1_000_000)

    const before = await getJson(`${first.url}/metrics`)
    expect(before.metrics.map((m: any) => m.id)).toEqual([...ids].sort())
    const beforeQ = await getJson(`${first.url}/metrics?quantiles=0.1,0.9,0.999`)
    expect(await first.stop('SIGTERM')).toBe(0)
    await first.closed()
    expect(await readdir(dir)).toEqual(['state.bin'])

    const second = await start()
    const after = await getJson(`${second.url}/metrics`)
    expect(after.metrics).toEqual(before.metrics)
    expect((await getJson(`${second.url}/metrics?quantiles=0.1,0.9,0.999`)).metrics).toEqual(beforeQ.metrics)
    for (const id of ids) {
      expect(await getJson(`${second.url}/metrics/${id}`)).toEqual(before.metrics.find((m: any) => m.id === id))
    }
    const loaded = logLines(second.output()).find((l) => l.msg === 'state loaded')
    expect(loaded, second.output()).toMatchObject({ stateFile, metrics: ids.length, skipped: 0 })
    expect(logLines(second.output()).filter((l) => l.level >= 50)).toEqual([])

    // Totals and counters continue from the saved values.
    const checkout = before.metrics.find((m: any) => m.id === 'checkout')
    await postLatency(second, 'checkout', [10, 20, 30])
    await postJob(second, 'checkout', 'failed', 2)
    await postJob(second, 'jobs-only', 'completed', 4)
    const proto = before.metrics.find((m: any) => m.id === '__proto__')
    await postLatency(second, '__proto__', 6)
    const next = await getJson(`${second.url}/metrics`)
    const get = (id: string) => next.metrics.find((m: any) => m.id === id)
    expect(get('checkout').total).toBe(checkout.total + 3)
    expect(get('checkout').count).toBe(checkout.count + 3)
    expect(get('checkout').min_ns).toBe(7)
    expect(get('checkout').jobs.failed).toBe(checkout.jobs.failed + 2)
    expect(get('jobs-only').jobs).toEqual({ created: 10, started: 7, completed: 7, failed: 1, retried: 2, in_progress: 0 })
    expect(get('__proto__').total).toBe(proto.total + 1)

    // And once more: a second restart carries the new values too.
    const last = await getJson(`${second.url}/metrics`)
    expect(await second.stop('SIGTERM')).toBe(0)
    const third = await start()
    expect((await getJson(`${third.url}/metrics`)).metrics).toEqual(last.metrics)
    expect(await third.stop('SIGTERM')).toBe(0)
  })

  it('a client stalled in the middle of its body is cut after SHUTDOWN_GRACE_MS: the final save is written and the exit code is 0', async () => {
    const first = await start({ SHUTDOWN_GRACE_MS: '300', REQUEST_TIMEOUT_MS: '600000', HEADERS_TIMEOUT_MS: '600000' })
    await postLatency(first, 'kept', [4, 5, 6])
    const stalled = net.connect(first.port, '127.0.0.1')
    stalled.on('error', () => {})
    let answer = ''
    stalled.setEncoding('latin1').on('data', (d: string) => (answer += d))
    const cut = once(stalled, 'close')
    await once(stalled, 'connect')
    stalled.write('POST /metrics/stalled/latency HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"lat')
    await waitFor('the stalled request to be in flight', async () => (await getJson(`${first.url}/metrics`)).service.requests.in_flight >= 2)
    expect(await first.stop('SIGTERM')).toBe(0)
    await cut
    expect(answer).toBe('') // cut, not answered: its body never came
    expect(first.output()).not.toMatch(/killed by timeout/)
    expect(logLines(first.output()).some((l) => l.msg === 'stopped')).toBe(true)
    const second = await start()
    expect((await getJson(`${second.url}/metrics`)).metrics.map((m: any) => [m.id, m.count])).toEqual([['kept', 3]])
    expect(await second.stop()).toBe(0)
  })

  it('SIGINT saves too', async () => {
    const first = await start()
    await postLatency(first, 'interrupted', [3, 1, 2])
    const before = await getJson(`${first.url}/metrics`)
    expect(await first.stop('SIGINT')).toBe(0)
    const second = await start()
    expect((await getJson(`${second.url}/metrics`)).metrics).toEqual(before.metrics)
    expect(await second.stop()).toBe(0)
  })
})

describe('kill -9 between periodic writes', () => {
  it('loses at most the writes of the last interval', async () => {
    const first = await start({ STATE_INTERVAL_MS: '300' })
    const id = 'crash'
    const A = Array.from({ length: 50 }, (_, i) => 1_001 + i)
    const B = Array.from({ length: 40 }, (_, i) => 2_001 + i)
    await postLatency(first, id, A)
    await postJob(first, id, 'created', 5)

    // Wait (bounded) until a periodic write has put A in the file.
    let saved: MetricStore | undefined
    for (let attempt = 0; attempt < 500 && saved === undefined; attempt++) {
      const data = await readFile(stateFile).catch(() => undefined)
      if (data !== undefined) {
        const store = decodeFile(data) // the file is replaced by rename: never torn
        if (store.get(id)?.total === A.length) saved = store
      }
      if (saved === undefined) await sleep(20)
    }
    expect(saved, 'no periodic write with batch A within 10 s').toBeDefined()

    await postLatency(first, id, B)
    await postJob(first, id, 'created', 7)
    expect(await first.stop('SIGKILL')).toBeNull()
    await first.closed()

    // What the crash left on disk: A, maybe B, nothing else.
    const onDisk = decodeFile(await readFile(stateFile))
    const total = onDisk.get(id)!.total
    expect(total).toBeGreaterThanOrEqual(A.length)
    expect(total).toBeLessThanOrEqual(A.length + B.length)
    const values = samplesOf(onDisk, id)
    expect(values.length).toBe(total)
    expect(values.slice(0, A.length)).toEqual(A)
    expect(values.slice(A.length)).toEqual(B.slice(0, values.length - A.length))
    expect([5, 12]).toContain(onDisk.get(id)!.jobCount('created'))

    // What the restarted service serves is exactly that.
    const second = await start({ STATE_INTERVAL_MS: '300' })
    const snapshot = await getJson(`${second.url}/metrics/${id}`)
    expect(snapshot.total).toBe(total)
    expect(snapshot.count).toBe(values.length)
    expect(snapshot.min_ns).toBe(Math.min(...values))
    expect(snapshot.max_ns).toBe(Math.max(...values))
    for (const q of ['p50_ns', 'p95_ns', 'p99_ns']) expect([...A, ...B]).toContain(snapshot[q])
    expect(snapshot.jobs.created).toBe(onDisk.get(id)!.jobCount('created'))
    expect(await second.stop()).toBe(0)
  })
})

describe('a damaged state file of its own: the service starts empty and keeps the bad bytes aside', () => {
  async function validState(): Promise<Buffer> {
    const store = new MetricStore({ maxMetrics: 100, maxSamples: 100, windowMs: WINDOW_MS })
    store.recordLatencies(store.acquire('lost')!, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    store.recordJob(store.acquire('lost-jobs')!, 'created', 3)
    return encodeState(store, Date.now())
  }

  const cases: Array<[string, () => Promise<Buffer>]> = [
    ['a truncated file', async () => (await validState()).subarray(0, 60)],
    ['a file cut short by its last byte', async () => (await validState()).subarray(0, -1)],
    [
      'a file with one byte changed',
      async () => {
        const d = await validState()
        d[d.length >> 1] ^= 0x40
        return d
      },
    ],
  ]

  for (const [name, make] of cases) {
    it(`${name}`, async () => {
      const bad = await make()
      await writeFile(stateFile, bad)
      const server = await start()
      // Listening, empty and healthy.
      expect((await getJson(`${server.url}/metrics`)).metrics).toEqual([])
      expect(await getJson(`${server.url}/healthz`)).toEqual({ status: 'ok' })

      const files = await readdir(dir)
      expect(files, String(files)).toHaveLength(1)
      expect(files[0]).toMatch(/^state\.bin\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/)
      expect((await readFile(join(dir, files[0]))).equals(bad)).toBe(true)

      const errors = logLines(server.output()).filter((l) => l.level >= 50)
      expect(errors, server.output()).toHaveLength(1)
      expect(errors[0]).toMatchObject({ stateFile, movedTo: join(dir, files[0]) })
      expect(errors[0].msg).toMatch(/state file/)

      // It saves again as usual, beside the copy it set aside.
      await postLatency(server, 'fresh', 1)
      expect(await server.stop()).toBe(0)
      expect((await readdir(dir)).sort()).toEqual(['state.bin', files[0]])
      expect((await readFile(join(dir, files[0]))).equals(bad)).toBe(true)
      expect(
        decodeFile(await readFile(stateFile))
          .sorted()
          .map((m) => m.id),
      ).toEqual(['fresh'])
    })
  }

  for (const [name, bytes] of [
    ['a file of random bytes', randomBytes(8_192)],
    ['an empty file', Buffer.alloc(0)],
  ] as const) {
    it(`${name} is not the service's: the start stops, exit 2, one line naming STATE_FILE, the file left as it is`, async () => {
      await writeFile(stateFile, bytes)
      const result = await runToExit({ STATE_FILE: stateFile, WINDOW_MS: String(WINDOW_MS) })
      expect(result.code).toBe(2)
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^latency-tracker: cannot start: STATE_FILE .* is not a latency-tracker state file/),
      ])
      expect(await readdir(dir)).toEqual(['state.bin'])
      expect((await readFile(stateFile)).equals(bytes)).toBe(true)
    })
  }

  it('a missing file is a clean start', async () => {
    const server = await start()
    expect((await getJson(`${server.url}/metrics`)).metrics).toEqual([])
    expect(await getJson(`${server.url}/healthz`)).toEqual({ status: 'ok' })
    const lines = logLines(server.output())
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
    expect(lines.find((l) => l.stateFile === stateFile)?.msg, server.output()).toMatch(/no state file/)
    expect(await readdir(dir)).toEqual([])
    expect(await server.stop()).toBe(0)
    // The shutdown wrote the (empty) state.
    expect(await readdir(dir)).toEqual(['state.bin'])
    expect(decodeFile(await readFile(stateFile)).size).toBe(0)
  })
})
