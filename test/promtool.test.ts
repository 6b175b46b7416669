import { describe, expect, it } from 'vitest'
import { promtoolCheckMetrics, skipWithout } from './prometheus-tools.js'
import { spawnServer } from './spawn-server.js'

/**
 * `promtool check metrics` (Prometheus 2.42) on the exposition of a populated
 * service, for both formats: exit 1 is a parse error, exit 3 a lint problem
 * (non-base units, missing HELP, counters without _total, ...).
 *
 * promtool parses only the Prometheus text format (prometheus/prometheus#8932:
 * no OpenMetrics parser in promtool). OpenMetrics names a counter family without
 * `_total` in HELP/TYPE while its samples keep it, so promtool reads those samples
 * as a family with no HELP. The OpenMetrics output is therefore checked twice:
 * as it is, where "<counter>_total no help text" for a declared counter family is
 * the only problem allowed, and with counter metadata renamed to text-format
 * names, where nothing is allowed. The real OpenMetrics parser (Prometheus's
 * scrape) reads it in prometheus-scrape.test.ts.
 */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

const skip = skipWithout(['promtool'], 'promtool check metrics tests')

async function populatedService() {
  const server = await spawnServer({ LOG_LEVEL: 'info' })
  const post = (path: string, body: unknown, contentType = 'application/json') =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify(body) })
  for (const [i, id] of ['checkout', 'search.v2', 'db:query-1', 'Upper_Case', '__proto__'].entries()) {
    const values = Array.from({ length: 50 + i * 30 }, (_, k) => 1000 + ((k * 7919 * (i + 1)) % 5_000_000_000))
    expect((await post(`/metrics/${id}/latency`, { latency_ns: values })).status).toBe(202)
    expect((await post(`/metrics/${id}/jobs`, { event: 'started', count: 3 + i })).status).toBe(202)
    expect((await post(`/metrics/${id}/jobs`, { event: 'completed' })).status).toBe(202)
  }
  // Statuses, for latency_tracker_responses_total and latency_tracker_window_errors.
  expect((await post('/metrics/checkout/latency', { latency_ns: [1000, 2000, 3000], status: [200, 503, 0] })).status).toBe(202)
  expect((await post('/metrics/search.v2/latency', { latency_ns: 4000, status: 404 })).status).toBe(202)
  // An id with jobs only: its window is empty, so its quantiles are NaN.
  expect((await post('/metrics/jobs-only/jobs', { event: 'created' })).status).toBe(202)
  // Some 4xx, so the request counters have more than one class.
  expect((await post('/metrics/checkout/latency', { latency_ns: 0 })).status).toBe(400)
  expect((await post('/metrics/checkout/latency', 'x', 'text/plain')).status).toBe(415)
  expect((await fetch(`${server.url}/metrics/nope`)).status).toBe(404)
  return server
}

describe.skipIf(skip)('promtool check metrics', () => {
  it('the Prometheus text format of a populated service has no error and no lint problem', async () => {
    const server = await populatedService()
    const res = await fetch(`${server.url}/metrics?quantiles=0.9,0.999`, { headers: { accept: 'text/plain;version=0.0.4' } })
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    expect(text).toContain('latency_tracker_window_latency_seconds{id="jobs-only",quantile="0.5"} NaN')
    expect(text).toContain('latency_tracker_http_requests_total{class="4xx"} 3')
    expect(text).toContain('latency_tracker_responses_total{id="checkout",status="503"} 1')
    expect(text).toContain('latency_tracker_responses_total{id="search.v2",status="404"} 1')
    expect(text).toContain('latency_tracker_window_errors{id="checkout"} 2')
    const result = promtoolCheckMetrics(text)
    expect(result, text).toEqual({ status: 0, problems: [] })
    expect(await server.stop()).toBe(0)
  })

  it('the OpenMetrics output of the same service: only the known promtool false positive, and none once renamed', async () => {
    const server = await populatedService()
    const res = await fetch(`${server.url}/metrics?quantiles=0.9,0.999`, { headers: { accept: PROMETHEUS_ACCEPT } })
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8')
    const text = await res.text()
    expect(text.endsWith('# EOF\n')).toBe(true)

    const counters = new Set([...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]))
    expect(counters).toContain('latency_tracker_jobs')
    expect(counters).toContain('latency_tracker_responses')
    expect(text).toContain('latency_tracker_responses_total{id="checkout",status="0"} 1')
    const raw = promtoolCheckMetrics(text)
    expect(raw.status === 0 || raw.status === 3, raw.problems.join('\n')).toBe(true)
    for (const problem of raw.problems) {
      const m = /^(\S+)_total no help text$/.exec(problem)
      expect(m !== null && counters.has(m[1]), `unexpected promtool problem: ${problem}`).toBe(true)
    }

    // The same document with counter metadata under the text format's names.
    const asText = text
      .split('\n')
      .filter((line) => !line.startsWith('# UNIT ') && line !== '# EOF')
      .map((line) => {
        const m = /^# (HELP|TYPE) (\S+)( .*)$/.exec(line)
        return m !== null && counters.has(m[2]) ? `# ${m[1]} ${m[2]}_total${m[3]}` : line
      })
      .join('\n')
    expect(promtoolCheckMetrics(asText)).toEqual({ status: 0, problems: [] })
    expect(await server.stop()).toBe(0)
  })
})
