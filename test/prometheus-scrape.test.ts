import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_BUCKET_BOUNDS_NS } from '../src/store/histogram-buckets.js'
import { type PrometheusServer, skipWithout, startPrometheus, waitFor } from './prometheus-tools.js'
import { type ServerProcess, spawnServer } from './spawn-server.js'

/**
 * A real Prometheus server (Debian's 2.42) on 127.0.0.1 scrapes two spawned
 * services every second; the test posts known samples and compares what
 * Prometheus stored and computes with what the services say themselves.
 * Its scrapes send Prometheus 2.x's Accept header, so the main job is parsed as
 * OpenMetrics; a second job scrapes ?format=prometheus through the text parser.
 */
const skip = skipWithout(['prometheus'], 'Prometheus scrape tests')

const MAIN_JOB = 'latency-tracker'
const TEXT_JOB = 'latency-tracker-text'

let prometheus: PrometheusServer | undefined
const services: ServerProcess[] = []
afterEach(async () => {
  await prometheus?.stop()
  prometheus = undefined
  await Promise.all(services.splice(0).map((s) => s.stop()))
})

/** Deterministic spread of n integers in [lo, hi]. */
function spread(n: number, lo: number, hi: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => lo + ((i * 7919 + seed * 104_729) % (hi - lo + 1)))
}

async function post(service: ServerProcess, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status, `${path}: ${await res.text()}`).toBe(202)
}

describe.skipIf(skip)('scraped by a real Prometheus server', () => {
  it('stores the service numbers exactly; histogram_quantile over two instances lands in the bucket of the union p99', { timeout: 60_000 }, async () => {
    const [a, b] = await Promise.all([spawnServer(), spawnServer()])
    services.push(a, b)
    const instanceA = `127.0.0.1:${a.port}`
    const instanceB = `127.0.0.1:${b.port}`

    // The aggregated id exists (at zero) before Prometheus's first scrape, so rate() later sees its increase.
    await post(a, '/metrics/agg/jobs', { event: 'created' })
    await post(b, '/metrics/agg/jobs', { event: 'created' })

    prometheus = await startPrometheus([
      { name: MAIN_JOB, targets: [instanceA, instanceB] },
      { name: TEXT_JOB, targets: [instanceA], params: { format: ['prometheus'] } },
    ])
    const p = prometheus
    const values = async (promql: string) => (await p.query(promql)).map((r) => Number(r.value[1]))
    const failure = (what: string) => () => `${what}\nPrometheus output:\n${p.output()}`

    await waitFor(
      async () => (await p.query(`latency_tracker_latency_seconds_count{id="agg"}`)).length === 3,
      20_000,
      failure('the first scrapes did not show id agg on both instances and both jobs'),
    )

    // Known samples. agg: 1000 over both instances, the 990th smallest (nearest-rank p99)
    // in (10 ms, 25 ms] with 110 samples below that bucket and 10 above the rank in it;
    // on each instance alone p99 falls in that bucket too, so any mix of their rates does.
    const aggA = [...spread(500, 1_000_001, 2_000_000, 1), ...spread(100, 10_000_001, 24_000_000, 2)]
    const aggB = [...spread(380, 1_000_001, 2_000_000, 3), ...spread(20, 10_000_001, 24_000_000, 4)]
    const checkout = spread(200, 900, 40_000_000, 5)
    await post(a, '/metrics/agg/latency', { latency_ns: aggA })
    await post(b, '/metrics/agg/latency', { latency_ns: aggB })
    await post(a, '/metrics/checkout/latency', { latency_ns: checkout })
    const jobs = { created: 5, started: 4, completed: 2, failed: 1, retried: 1 }
    for (const [event, count] of Object.entries(jobs)) await post(a, '/metrics/checkout/jobs', { event, count })
    // Statuses: responses_total per status since the id was created, window_errors over the window.
    await post(a, '/metrics/statuses/latency', { latency_ns: [5_000, 6_000, 7_000, 8_000, 9_000], status: [200, 200, 503, 0, 404] })

    await waitFor(
      async () => {
        const [agg] = await values(`sum(latency_tracker_latency_seconds_count{job="${MAIN_JOB}",id="agg"})`)
        const checkoutCounts = await values(`latency_tracker_latency_seconds_count{id="checkout"}`)
        const retried = await values(`latency_tracker_jobs_total{job="${MAIN_JOB}",id="checkout",event="retried"}`)
        const statuses = await values(`latency_tracker_responses_total{id="statuses"}`) // 4 statuses, 2 jobs
        return agg === 1000 && checkoutCounts.length === 2 && checkoutCounts.every((c) => c === 200) && retried[0] === 1 && statuses.length === 8
      },
      20_000,
      failure('Prometheus did not scrape the posted samples'),
    )

    // Every target is up, through both parsers.
    const up = await p.query('up')
    expect(up.map((r) => `${r.metric.job} ${r.metric.instance} ${r.value[1]}`).sort()).toEqual(
      [`${MAIN_JOB} ${instanceA} 1`, `${MAIN_JOB} ${instanceB} 1`, `${TEXT_JOB} ${instanceA} 1`].sort(),
    )

    // The scraped quantiles for an id equal the service's own JSON snapshot, in both formats.
    const snapshot = (await (await fetch(`${a.url}/metrics/checkout`)).json()) as Record<string, number>
    for (const job of [MAIN_JOB, TEXT_JOB]) {
      const scraped = await p.query(`latency_tracker_window_latency_seconds{job="${job}",id="checkout"}`)
      const byQuantile = Object.fromEntries(scraped.map((r) => [r.metric.quantile, Number(r.value[1])]))
      expect(byQuantile, job).toEqual({
        '0.5': snapshot.p50_ns / 1e9,
        '0.95': snapshot.p95_ns / 1e9,
        '0.99': snapshot.p99_ns / 1e9,
      })
      expect(await values(`latency_tracker_window_samples{job="${job}",id="checkout"}`)).toEqual([snapshot.count])
    }
    expect(snapshot.count).toBe(200)
    for (const job of [MAIN_JOB, TEXT_JOB]) {
      const responses = await p.query(`latency_tracker_responses_total{job="${job}",id="statuses"}`)
      expect(Object.fromEntries(responses.map((r) => [r.metric.status, Number(r.value[1])])), job).toEqual({ '0': 1, '200': 2, '404': 1, '503': 1 })
      expect(await values(`latency_tracker_window_errors{job="${job}",id="statuses"}`), job).toEqual([2])
      expect(await values(`latency_tracker_window_errors{job="${job}",id="checkout"}`), job).toEqual([0])
    }

    // Histogram _count equals the samples posted, per instance; job counters match.
    const counts = await p.query(`latency_tracker_latency_seconds_count{job="${MAIN_JOB}",id="agg"}`)
    expect(Object.fromEntries(counts.map((r) => [r.metric.instance, Number(r.value[1])]))).toEqual({
      [instanceA]: aggA.length,
      [instanceB]: aggB.length,
    })
    const sumA = aggA.reduce((s, v) => s + v, 0) / 1e9
    const [scrapedSumA] = await values(`latency_tracker_latency_seconds_sum{job="${MAIN_JOB}",id="agg",instance="${instanceA}"}`)
    expect(scrapedSumA).toBeCloseTo(sumA, 12)
    const scrapedJobs = await p.query(`latency_tracker_jobs_total{job="${MAIN_JOB}",id="checkout"}`)
    expect(Object.fromEntries(scrapedJobs.map((r) => [r.metric.event, Number(r.value[1])]))).toEqual(jobs)
    expect(await values(`latency_tracker_jobs_in_progress{job="${MAIN_JOB}",id="checkout"}`)).toEqual([1])

    // Two instances together: histogram_quantile lands in the bucket holding the union's p99.
    const union = [...aggA, ...aggB].sort((x, y) => x - y)
    const p99 = union[Math.ceil(0.99 * union.length) - 1]
    const upper = DEFAULT_BUCKET_BOUNDS_NS.findIndex((bound) => bound >= p99)
    const [lo, hi] = [DEFAULT_BUCKET_BOUNDS_NS[upper - 1] / 1e9, DEFAULT_BUCKET_BOUNDS_NS[upper] / 1e9]
    expect([lo, hi]).toEqual([0.01, 0.025])
    const queries = [
      `histogram_quantile(0.99, sum by (le) (latency_tracker_latency_seconds_bucket{job="${MAIN_JOB}",id="agg"}))`,
      `histogram_quantile(0.99, sum by (le, id) (rate(latency_tracker_latency_seconds_bucket{job="${MAIN_JOB}",id="agg"}[5m])))`,
    ]
    for (const promql of queries) {
      const [q] = await values(promql)
      expect(q > lo && q <= hi, `${promql} = ${q}, expected in (${lo}, ${hi}]`).toBe(true)
    }

    // Metadata shows which parser read each job: OpenMetrics names the counter family
    // without _total and carries the unit; the text format has neither.
    type Meta = Array<{ target: { job: string }; type: string; unit: string }>
    const histogramMeta = await p.api<Meta>(
      `/api/v1/targets/metadata?metric=latency_tracker_latency_seconds&match_target=${encodeURIComponent(`{instance="${instanceA}"}`)}`,
    )
    expect(Object.fromEntries(histogramMeta.map((m) => [m.target.job, [m.type, m.unit]]))).toEqual({
      [MAIN_JOB]: ['histogram', 'seconds'],
      [TEXT_JOB]: ['histogram', ''],
    })
    const counterMeta = await p.api<Meta>(
      `/api/v1/targets/metadata?metric=latency_tracker_jobs&match_target=${encodeURIComponent(`{job="${MAIN_JOB}",instance="${instanceA}"}`)}`,
    )
    expect(counterMeta.map((m) => m.type)).toEqual(['counter'])
    const responsesMeta = await p.api<Meta>(
      `/api/v1/targets/metadata?metric=latency_tracker_responses&match_target=${encodeURIComponent(`{job="${MAIN_JOB}",instance="${instanceA}"}`)}`,
    )
    expect(responsesMeta.map((m) => m.type)).toEqual(['counter'])
  })
})
