import type { FastifyInstance } from 'fastify'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { build, expectError, postJson } from './helper.js'
import { closeToMean, nearestRank, refMax, refMean, refMin, manualClock } from './reference.js'

const WINDOW_MS = 60_000
const STATS = ['min_ns', 'max_ns', 'mean_ns', 'p50_ns', 'p95_ns', 'p99_ns'] as const

/** Latency-like integers (mostly small, some huge, many duplicates), the same for a given seed. */
function latencies(n: number, seed: number): number[] {
  const latency = fc.oneof(
    { weight: 30, arbitrary: fc.integer({ min: 1, max: 20 }) }, // heavy duplicates
    { weight: 65, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
    { weight: 5, arbitrary: fc.integer({ min: 1, max: 1e15 }) },
  )
  return fc.sample(latency, { seed, numRuns: n })
}

async function postAll(app: FastifyInstance, id: string, values: number[]) {
  for (let i = 0; i < values.length; i += 10_000) {
    const res = await postJson(app, `/metrics/${id}/latency`, { latency_ns: values.slice(i, i + 10_000) })
    expect(res.statusCode).toBe(202)
  }
}

async function get(app: FastifyInstance, url: string) {
  return app.inject({ method: 'GET', url })
}

/** Asserts every statistic of a snapshot against the sort-based reference over `values`. */
function expectStats(snap: Record<string, unknown>, values: number[]) {
  const n = values.length
  expect(snap.count).toBe(n)
  expect(snap.min_ns).toBe(refMin(values))
  expect(snap.max_ns).toBe(refMax(values))
  expect(snap.p50_ns).toBe(nearestRank(values, '0.5'))
  expect(snap.p95_ns).toBe(nearestRank(values, '0.95'))
  expect(snap.p99_ns).toBe(nearestRank(values, '0.99'))
  const mean = snap.mean_ns as number
  const want = refMean(values)!
  expect(closeToMean(mean, want, n), `mean ${mean} vs ${want}`).toBe(true)
}

function expectAllNull(snap: Record<string, unknown>) {
  for (const k of STATS) expect(snap[k], k).toBeNull()
}

describe('GET /metrics/:id snapshot shape', () => {
  it('has exactly the contract fields, with the contract types', async () => {
    const app = await build()
    await postJson(app, '/metrics/checkout/latency', { latency_ns: [1200, 1500, 98000] })
    await postJson(app, '/metrics/checkout/jobs', { event: 'created', count: 5 })
    await postJson(app, '/metrics/checkout/jobs', { event: 'started', count: 4 })
    await postJson(app, '/metrics/checkout/jobs', { event: 'completed', count: 2 })
    await postJson(app, '/metrics/checkout/jobs', { event: 'failed' })
    await postJson(app, '/metrics/checkout/jobs', { event: 'retried' })
    const res = await get(app, '/metrics/checkout')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const snap = res.json()
    expect(Object.keys(snap).sort()).toEqual(
      ['count', 'error_rate', 'errors', 'id', 'jobs', 'max_ns', 'mean_ns', 'min_ns', 'p50_ns', 'p95_ns', 'p99_ns', 'statuses', 'total', 'window_ms'].sort(),
    )
    expect(snap).toEqual({
      id: 'checkout',
      window_ms: WINDOW_MS,
      count: 3,
      total: 3,
      min_ns: 1200,
      max_ns: 98000,
      mean_ns: (1200 + 1500 + 98000) / 3,
      p50_ns: 1500,
      p95_ns: 98000,
      p99_ns: 98000,
      statuses: {},
      errors: 0,
      error_rate: null,
      jobs: { created: 5, started: 4, completed: 2, failed: 1, retried: 1, in_progress: 1 },
    })
    for (const k of ['window_ms', 'count', 'total']) expect(Number.isInteger(snap[k]), k).toBe(true)
    for (const k of STATS) expect(typeof snap[k], k).toBe('number')
  })

  it('reports all six statistics as null (not absent) when count is 0', async () => {
    const app = await build()
    await postJson(app, '/metrics/jobs-only/jobs', { event: 'started' })
    const snap = (await get(app, '/metrics/jobs-only')).json()
    expect(snap).toMatchObject({ id: 'jobs-only', window_ms: WINDOW_MS, count: 0, total: 0 })
    for (const k of STATS) expect(snap, k).toHaveProperty(k, null)
  })

  it('is 404 for an id that does not exist, naming it', async () => {
    const app = await build()
    await postJson(app, '/metrics/known/latency', { latency_ns: 1 })
    expect(expectError(await get(app, '/metrics/unknown'), 404)).toContain('unknown')
  })
})

describe('GET /metrics/:id statistics vs a sort-based reference', () => {
  it.each([1, 2, 3, 7, 10, 99, 100, 101, 1000, 10_000])('n = %i random samples', async (n) => {
    const app = await build({ now: manualClock().now })
    const values = latencies(n, n * 7919)
    await postAll(app, 'm', values)
    const snap = (await get(app, '/metrics/m?quantiles=0.001,0.07,0.25,0.9,0.999,1')).json()
    expectStats(snap, values)
    expect(snap.total).toBe(n)
    expect(snap.quantiles).toEqual({
      '0.001': nearestRank(values, '0.001'),
      '0.07': nearestRank(values, '0.07'),
      '0.25': nearestRank(values, '0.25'),
      '0.9': nearestRank(values, '0.9'),
      '0.999': nearestRank(values, '0.999'),
      '1': nearestRank(values, '1'),
    })
  })

  it('q = 0.07 over 100 values is the 7th smallest, although 0.07*100 > 7 in doubles', async () => {
    const app = await build()
    const inOrder = Array.from({ length: 100 }, (_, i) => (i + 1) * 10)
    const [values] = fc.sample(fc.shuffledSubarray(inOrder, { minLength: 100 }), { seed: 3, numRuns: 1 })
    await postAll(app, 'm', values)
    const snap = (await get(app, '/metrics/m?quantiles=0.07,0.5,0.95,0.99')).json()
    expect(snap.quantiles).toEqual({ '0.07': 70, '0.5': 500, '0.95': 950, '0.99': 990 })
    expect([snap.p50_ns, snap.p95_ns, snap.p99_ns]).toEqual([500, 950, 990])
  })

  it('keeps values up to 2^53-1 exact', async () => {
    const app = await build()
    const values = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, 1, 2 ** 52 + 1]
    await postAll(app, 'm', values)
    expectStats((await get(app, '/metrics/m')).json(), values)
  })

  it('is deterministic: the same samples always give the same answer', async () => {
    const app = await build({ now: manualClock().now })
    const values = latencies(5000, 11)
    await postAll(app, 'm', values)
    const url = '/metrics/m?quantiles=0.1,0.33,0.5,0.77,0.999'
    const first = (await get(app, url)).body
    for (let i = 0; i < 5; i++) expect((await get(app, url)).body).toBe(first)
    // Another app given the same samples in another order picks the same percentiles
    // (the mean is a float sum, so only its last bits may depend on the order).
    const other = await build({ now: manualClock().now })
    await postAll(other, 'm', [...values].reverse())
    const { mean_ns: mean, ...rest } = (await get(other, url)).json()
    const { mean_ns: firstMean, ...firstRest } = JSON.parse(first)
    expect(rest).toEqual(firstRest)
    expect(closeToMean(mean, firstMean, values.length)).toBe(true)
  })

  it('computes over the most recent MAX_SAMPLES samples once the ring wraps', async () => {
    const app = await build({ maxSamples: 5, now: manualClock().now })
    const values = [100, 1, 2, 3, 900, 50, 60, 70]
    for (const v of values) await postJson(app, '/metrics/m/latency', { latency_ns: v })
    const snap = (await get(app, '/metrics/m')).json()
    expect(snap.total).toBe(8)
    expectStats(snap, values.slice(-5))
  })
})

describe('sliding window (manual clock)', () => {
  it('a sample counts while its age is less than the window', async () => {
    const clock = manualClock()
    const app = await build({ now: clock.now })
    const old = latencies(50, 1)
    const recent = latencies(70, 2)
    await postAll(app, 'm', old)
    clock.advance(30_000)
    await postAll(app, 'm', recent)
    clock.advance(WINDOW_MS - 30_000 - 1) // old samples are 59,999 ms old: still in
    let snap = (await get(app, '/metrics/m')).json()
    expectStats(snap, [...old, ...recent])
    clock.advance(1) // exactly 60,000 ms old: out
    snap = (await get(app, '/metrics/m')).json()
    expectStats(snap, recent)
    expect(snap.total).toBe(120)
  })

  it('every statistic is null once all samples have aged out; total stays', async () => {
    const clock = manualClock()
    const app = await build({ now: clock.now })
    await postAll(app, 'm', [5, 6, 7])
    await postJson(app, '/metrics/m/jobs', { event: 'started', count: 2 })
    clock.advance(WINDOW_MS)
    const snap = (await get(app, '/metrics/m?quantiles=0.9')).json()
    expect(snap).toMatchObject({ count: 0, total: 3, jobs: { started: 2, in_progress: 2 } })
    expectAllNull(snap)
    expect(snap.quantiles).toEqual({ '0.9': null })
  })

  it('?window_ms=W computes over the most recent W ms and reports W', async () => {
    const clock = manualClock()
    const app = await build({ now: clock.now })
    const batches = [latencies(40, 10), latencies(40, 11), latencies(40, 12)]
    await postAll(app, 'm', batches[0]) // age 20,000 at read time
    clock.advance(10_000)
    await postAll(app, 'm', batches[1]) // age 10,000
    clock.advance(10_000)
    await postAll(app, 'm', batches[2]) // age 0
    const cases: [number, number[]][] = [
      [1, batches[2]],
      [10_000, batches[2]], // age 10,000 is not < 10,000
      [10_001, [...batches[1], ...batches[2]]],
      [20_001, batches.flat()],
      [WINDOW_MS, batches.flat()],
    ]
    for (const [w, values] of cases) {
      const snap = (await get(app, `/metrics/m?window_ms=${w}`)).json()
      expect(snap.window_ms).toBe(w)
      expectStats(snap, values)
      expect(snap.total).toBe(120)
    }
  })

  it('?window_ms combines with ?quantiles', async () => {
    const clock = manualClock()
    const app = await build({ now: clock.now })
    await postAll(app, 'm', [1_000_000, 2_000_000])
    clock.advance(500)
    const recent = latencies(300, 5)
    await postAll(app, 'm', recent)
    const snap = (await get(app, '/metrics/m?window_ms=500&quantiles=0.75,1')).json()
    expect(snap.window_ms).toBe(500)
    expectStats(snap, recent)
    expect(snap.quantiles).toEqual({ '0.75': nearestRank(recent, '0.75'), '1': nearestRank(recent, '1') })
  })
})

describe('?quantiles', () => {
  it('keys are the text given in the query', async () => {
    const app = await build()
    const values = latencies(1000, 9)
    await postAll(app, 'm', values)
    const snap = (await get(app, '/metrics/m?quantiles=0.9,0.999,.5,0.50,1,1.0')).json()
    expect(snap.quantiles).toEqual({
      '0.9': nearestRank(values, '0.9'),
      '0.999': nearestRank(values, '0.999'),
      '.5': nearestRank(values, '.5'),
      '0.50': nearestRank(values, '0.50'),
      '1': nearestRank(values, '1'),
      '1.0': nearestRank(values, '1.0'),
    })
  })

  it.each([
    ['empty', ''],
    ['zero', '0'],
    ['0.0', '0.0'],
    ['above 1', '1.5'],
    ['1.0001', '1.0001'],
    ['negative', '-0.5'],
    ['not a number', 'abc'],
    ['exponent', '1e-3'],
    ['hex', '0x1'],
    ['NaN', 'NaN'],
    ['trailing comma', '0.9,'],
    ['leading comma', ',0.9'],
    ['double comma', '0.9,,0.5'],
    ['a trailing dot', '1.'],
    ['spaces', '0.9, 0.5'],
    ['percent', '99%'],
  ])('%s (%j) is 400, naming the quantile', async (_name, q) => {
    const app = await build()
    await postAll(app, 'm', [1, 2, 3])
    const message = expectError(await get(app, `/metrics/m?quantiles=${encodeURIComponent(q)}`), 400)
    expect(message).toMatch(/quantile/)
  })

  it('a repeated quantiles parameter is 400', async () => {
    const app = await build()
    await postAll(app, 'm', [1, 2, 3])
    expect(expectError(await get(app, '/metrics/m?quantiles=0.9&quantiles=0.5'), 400)).toMatch(/quantiles/)
  })
})

describe('?window_ms validation', () => {
  it.each(['1', String(WINDOW_MS)])('%s is accepted', async (w) => {
    const app = await build()
    await postAll(app, 'm', [1])
    const res = await get(app, `/metrics/m?window_ms=${w}`)
    expect(res.statusCode).toBe(200)
    expect(res.json().window_ms).toBe(Number(w))
  })

  it('the upper bound follows the configured WINDOW_MS', async () => {
    const app = await build({ windowMs: 5_000 })
    await postAll(app, 'm', [1])
    expect((await get(app, '/metrics/m?window_ms=5000')).statusCode).toBe(200)
    expect(expectError(await get(app, '/metrics/m?window_ms=5001'), 400)).toMatch(/window_ms/)
    expect((await get(app, '/metrics/m')).json().window_ms).toBe(5_000)
  })

  it.each(['0', String(WINDOW_MS + 1), 'abc', '1.5', '-1', '', '1e3', ' 5', '99999999999999999999'])('%j is 400, naming window_ms', async (w) => {
    const app = await build()
    await postAll(app, 'm', [1])
    expect(expectError(await get(app, `/metrics/m?window_ms=${encodeURIComponent(w)}`), 400)).toMatch(/window_ms/)
  })

  it('a repeated window_ms parameter is 400', async () => {
    const app = await build()
    await postAll(app, 'm', [1])
    expect(expectError(await get(app, '/metrics/m?window_ms=10&window_ms=20'), 400)).toMatch(/window_ms/)
  })
})
