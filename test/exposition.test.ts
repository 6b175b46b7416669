import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CONTENT_TYPES, negotiate } from '../src/http/exposition/negotiate.js'
import { escapeHelp, escapeLabelValue, formatValue, labelSet } from '../src/http/exposition/text-format.js'
import { build, postJson } from './helper.js'
import { manualClock } from './reference.js'

const PROMETHEUS_2_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
const JSON_TYPE = 'application/json; charset=utf-8'
const TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
const OPENMETRICS_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('negotiate(Accept)', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['application/json', 'json'],
    ['*/*', 'json'],
    ['application/*', 'json'],
    [PROMETHEUS_2_ACCEPT, 'openmetrics'],
    // Prometheus <= 2.4 offered protobuf first; we do not produce it, so text wins over */*.
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1', 'prometheus'],
    ['text/plain', 'prometheus'],
    ['text/plain;version=0.0.4', 'prometheus'],
    ['text/plain; version="0.0.4"; charset=utf-8', 'prometheus'],
    ['TEXT/Plain', 'prometheus'],
    ['text/*', 'prometheus'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text; version=0.0.1', 'openmetrics'],
    // Versions we do not produce do not match; nothing else acceptable: JSON, as before negotiation.
    ['text/plain;version=0.0.5', 'json'],
    ['application/openmetrics-text;version=2.0.0', 'json'],
    ['image/png', 'json'],
    // Quality decides; q=0 refuses.
    ['application/json;q=0.5, text/plain', 'prometheus'],
    ['text/plain;q=0.5, application/json', 'json'],
    ['application/openmetrics-text;q=0, */*', 'json'],
    ['*/*;q=0.5, text/plain;q=0.4', 'json'],
    ['text/plain;q=0, */*', 'json'],
    // On equal quality an explicit type beats a wildcard, then the first listed wins.
    ['text/plain, */*', 'prometheus'],
    ['*/*, application/openmetrics-text', 'openmetrics'],
    ['text/plain, application/openmetrics-text', 'prometheus'],
    ['application/openmetrics-text, text/plain', 'openmetrics'],
    // A malformed q-value voids its range.
    ['text/plain;q=abc', 'json'],
    ['text/plain;q=1.5, application/openmetrics-text;q=0.2', 'openmetrics'],
  ])('%j → %s', (accept, format) => {
    expect(negotiate(accept)).toBe(format)
  })
})

/** What Prometheus 3 sends (scrape/scrape.go acceptHeader, escaping allow-utf-8), by scrape_protocols. */
const PROMETHEUS_3_ACCEPT = {
  default:
    'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
  protoFirst:
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
  text1: 'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5',
  text1Then0: 'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4',
  openMetrics0: 'application/openmetrics-text;version=0.0.1;q=0.6,*/*;q=0.5',
}

describe('GET /metrics: a format has the quality of the most specific range that matches the version it is written in', () => {
  it.each<[string | undefined, string]>([
    // The review's cases: the range naming OpenMetrics 1.0.0, which we write, sets its quality, wherever it is listed.
    ['application/openmetrics-text;version=0.0.1;q=0.2,application/openmetrics-text;version=1.0.0;q=0.9,text/plain;q=0.5', OPENMETRICS_TYPE],
    ['application/openmetrics-text;version=1.0.0;q=0.9,application/openmetrics-text;version=0.0.1;q=0.2,text/plain;q=0.5', OPENMETRICS_TYPE],
    ['application/openmetrics-text;version=0.0.1;q=0,application/openmetrics-text;version=1.0.0', OPENMETRICS_TYPE],
    ['application/openmetrics-text;version=1.0.0;q=0.2,application/openmetrics-text;version=0.0.1;q=0.9,text/plain;q=0.5', TEXT_TYPE],
    // 1.0.0 refused: 0.0.1 does not bring back the 1.0.0 we would write.
    ['application/openmetrics-text;version=0.0.1,application/openmetrics-text;version=1.0.0;q=0', JSON_TYPE],
    ['application/openmetrics-text;version=0.0.1,application/openmetrics-text;version=1.0.0;q=0,text/plain;q=0.1', TEXT_TYPE],
    // Without a version a range matches what we write, so it outranks one naming another version.
    ['application/openmetrics-text;version=0.0.1;q=0.9,application/openmetrics-text;q=0.1,text/plain;q=0.5', TEXT_TYPE],
    ['application/openmetrics-text;version=0.0.1;q=0,application/openmetrics-text', OPENMETRICS_TYPE],
    // 0.0.1 alone is still answered with OpenMetrics 1.0.0, and outranks a wildcard.
    ['application/openmetrics-text;version=0.0.1', OPENMETRICS_TYPE],
    [PROMETHEUS_3_ACCEPT.openMetrics0, OPENMETRICS_TYPE],
    // Text 1.0.0 (Prometheus 3) is answered with text 0.0.4, said so in Content-Type; the range naming 0.0.4 outranks it.
    [PROMETHEUS_3_ACCEPT.text1, TEXT_TYPE],
    ['text/plain;version=1.0.0;escaping=allow-utf-8,*/*;q=0.1', TEXT_TYPE],
    [PROMETHEUS_3_ACCEPT.text1Then0, TEXT_TYPE],
    ['text/plain;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.1,application/openmetrics-text;q=0.5', OPENMETRICS_TYPE],
    ['text/plain;version=0.0.4;q=0,text/plain;version=1.0.0', JSON_TYPE],
    ['text/plain;version=1.0.0;q=0,text/plain', TEXT_TYPE],
    [PROMETHEUS_3_ACCEPT.default, OPENMETRICS_TYPE],
    [PROMETHEUS_3_ACCEPT.protoFirst, OPENMETRICS_TYPE],
    // Versions we neither write nor alias still match nothing.
    ['text/plain;version=0.0.5', JSON_TYPE],
    ['application/openmetrics-text;version=2.0.0,*/*;q=0.1', JSON_TYPE],
    // Unchanged: Prometheus 2's default, */*, no Accept, application/json, unversioned types.
    [PROMETHEUS_2_ACCEPT, OPENMETRICS_TYPE],
    ['*/*', JSON_TYPE],
    [undefined, JSON_TYPE],
    ['application/json', JSON_TYPE],
    ['text/plain', TEXT_TYPE],
    ['application/openmetrics-text', OPENMETRICS_TYPE],
  ])('Accept: %s → %s', async (accept, type) => {
    const app = await build()
    const res = await app.inject({ url: '/metrics', headers: accept === undefined ? {} : { accept } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(type)
    expect(res.headers.vary).toBe('Accept')
  })
})

describe('text format primitives', () => {
  it('escapes label values per the spec: backslash, double quote, line feed', () => {
    expect(escapeLabelValue('plain')).toBe('plain')
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    expect(
      labelSet([
        ['id', 'x"y'],
        ['le', '+Inf'],
      ]),
    ).toBe('{id="x\\"y",le="+Inf"}')
    expect(labelSet([])).toBe('')
  })

  it('escapes HELP: backslash and line feed, and double quotes in OpenMetrics', () => {
    expect(escapeHelp('a\\b\n"c"', 'prometheus')).toBe('a\\\\b\\n"c"')
    expect(escapeHelp('a\\b\n"c"', 'openmetrics')).toBe('a\\\\b\\n\\"c\\"')
  })

  it('formats values as Prometheus parses them', () => {
    expect(formatValue(3)).toBe('3')
    expect(formatValue(0.0000015)).toBe('0.0000015')
    expect(formatValue(1.5e-7)).toBe('1.5e-7')
    expect(formatValue(1e21)).toBe('1e+21')
    expect(formatValue(NaN)).toBe('NaN')
    expect(formatValue(Infinity)).toBe('+Inf')
    expect(formatValue(-Infinity)).toBe('-Inf')
  })
})

async function scrape(app: FastifyInstance, format: 'prometheus' | 'openmetrics', query = '') {
  const res = await app.inject({ url: `/metrics?format=${format}${query}` })
  expect(res.statusCode).toBe(200)
  return res.body
}

interface Parsed {
  /** Family name → its HELP, TYPE and UNIT lines, in order of appearance. */
  meta: Map<string, { help: number; type: string | undefined; unit: string | undefined }>
  families: string[]
  samples: Array<{ name: string; labels: Record<string, string>; value: string; family: string }>
}

/** A small parser of the exposition, strict about what the tests rely on. */
function parse(text: string, format: 'prometheus' | 'openmetrics'): Parsed {
  const meta: Parsed['meta'] = new Map()
  const families: string[] = []
  const samples: Parsed['samples'] = []
  let current = ''
  const lines = text.split('\n')
  expect(lines.pop()).toBe('') // ends with a newline
  if (format === 'openmetrics') expect(lines.pop()).toBe('# EOF')
  for (const line of lines) {
    const m = /^# (HELP|TYPE|UNIT) (\S+) ?(.*)$/.exec(line)
    if (m !== null) {
      const [, kind, name, rest] = m
      if (name !== current) {
        expect(families, `family ${name} appears twice`).not.toContain(name)
        families.push(name)
        meta.set(name, { help: 0, type: undefined, unit: undefined })
        current = name
      }
      const entry = meta.get(name)!
      if (kind === 'HELP') entry.help++
      if (kind === 'TYPE') {
        expect(entry.type, `second TYPE for ${name}`).toBeUndefined()
        entry.type = rest
      }
      if (kind === 'UNIT') entry.unit = rest
      continue
    }
    expect(line.startsWith('#'), `unexpected comment ${line}`).toBe(false)
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    expect(s, `bad sample line ${JSON.stringify(line)}`).not.toBeNull()
    const labels: Record<string, string> = {}
    for (const [, k, v] of (s![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v
    samples.push({ name: s![1], labels, value: s![3], family: current })
  }
  return { meta, families, samples }
}

const SUFFIXES: Record<string, string[]> = {
  counter: ['_total'],
  gauge: [''],
  summary: ['', '_sum', '_count'],
  histogram: ['_bucket', '_sum', '_count'],
}

describe('GET /metrics exposition', () => {
  async function populated(options = {}) {
    const clock = manualClock()
    const app = await build({ now: clock.now, ...options })
    // Created out of order: the output is sorted by id.
    await postJson(app, '/metrics/zeta/latency', { latency_ns: [5_000, 7_000_000] })
    await postJson(app, '/metrics/checkout/latency', { latency_ns: [1200, 1500, 98000, 2_500_000, 40_000_000_000, 70_000_000_000] })
    await postJson(app, '/metrics/checkout/jobs', { event: 'created', count: 5 })
    await postJson(app, '/metrics/checkout/jobs', { event: 'started', count: 4 })
    await postJson(app, '/metrics/checkout/jobs', { event: 'completed', count: 2 })
    await postJson(app, '/metrics/checkout/jobs', { event: 'failed' })
    await postJson(app, '/metrics/checkout/jobs', { event: 'retried' })
    await postJson(app, '/metrics/jobs-only/jobs', { event: 'started' })
    return { app, clock }
  }

  it('answers each format with its exact Content-Type and Vary: Accept', async () => {
    const { app } = await populated()
    const cases: Array<[Record<string, string>, string, string]> = [
      [{}, '', JSON_TYPE],
      [{ accept: PROMETHEUS_2_ACCEPT }, '', OPENMETRICS_TYPE],
      [{ accept: 'text/plain;version=0.0.4' }, '', TEXT_TYPE],
      [{ accept: 'application/json' }, '', JSON_TYPE],
      [{ accept: PROMETHEUS_2_ACCEPT }, '?format=json', JSON_TYPE],
      [{ accept: 'application/json' }, '?format=prometheus', TEXT_TYPE],
      [{}, '?format=openmetrics', OPENMETRICS_TYPE],
    ]
    for (const [headers, query, type] of cases) {
      const res = await app.inject({ url: `/metrics${query}`, headers })
      expect(res.statusCode, `${JSON.stringify(headers)} ${query}`).toBe(200)
      expect(res.headers['content-type'], `${JSON.stringify(headers)} ${query}`).toBe(type)
      expect(res.headers.vary).toBe('Accept')
    }
    expect(CONTENT_TYPES).toEqual({ json: JSON_TYPE, prometheus: TEXT_TYPE, openmetrics: OPENMETRICS_TYPE })
  })

  it('a bad ?format= is a 400 JSON error that names the allowed values, whatever the Accept header', async () => {
    const { app } = await populated()
    for (const format of ['xml', 'JSON', '', 'text']) {
      const res = await app.inject({ url: `/metrics?format=${format}`, headers: { accept: PROMETHEUS_2_ACCEPT } })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toBe(JSON_TYPE)
      expect(res.json()).toEqual({
        statusCode: 400,
        code: 'LT_BAD_QUERY',
        error: 'Bad Request',
        message: `format must be one of json, prometheus, openmetrics, got ${JSON.stringify(format)}`,
      })
    }
    const bad = await app.inject({ url: '/metrics?format=prometheus&quantiles=2' })
    expect(bad.statusCode).toBe(400)
    expect(bad.headers['content-type']).toBe(JSON_TYPE)
  })

  it('JSON for application/json, */*, no Accept or an unusable one is byte-for-byte the same body', async () => {
    // Frozen clock: uptime_s is the same in every response.
    vi.spyOn(performance, 'now').mockReturnValue(5_000)
    const { app } = await populated()
    const body = async (headers: Record<string, string>, query = '') => {
      const res = await app.inject({ url: `/metrics${query}`, headers })
      expect(res.headers['content-type']).toBe(JSON_TYPE)
      // Request counters may move between requests; everything else must not.
      return res.body.replace(/"requests":\{[^}]*\}/, '"requests":{}')
    }
    const reference = await body({})
    expect(JSON.parse(reference).metrics.map((m: { id: string }) => m.id)).toEqual(['checkout', 'jobs-only', 'zeta'])
    for (const accept of ['application/json', '*/*', 'application/*', 'image/png', 'text/plain;version=9', '*/*;q=0.1']) {
      expect(await body({ accept }), accept).toBe(reference)
    }
    expect(await body({ accept: PROMETHEUS_2_ACCEPT }, '?format=json')).toBe(reference)
    expect(await body({}, '?quantiles=0.9')).not.toBe(reference)
  })

  for (const format of ['prometheus', 'openmetrics'] as const) {
    describe(format, () => {
      it('groups each family under one HELP and one TYPE; sample names belong to their family', async () => {
        const { app } = await populated()
        const parsed = parse(await scrape(app, format), format)
        for (const [name, meta] of parsed.meta) {
          expect(meta.help, name).toBe(1)
          expect(meta.type, name).toBeDefined()
        }
        for (const s of parsed.samples) {
          const type = parsed.meta.get(s.family)!.type!
          const base = format === 'openmetrics' && type === 'counter' ? s.family : s.family.replace(/_total$/, '')
          const allowed = type === 'counter' ? [`${base}_total`] : SUFFIXES[type].map((x) => `${s.family}${x}`)
          expect(allowed, `${s.name} in family ${s.family} (${type})`).toContain(s.name)
        }
        // No sample has a status here, so latency_tracker_responses_total has no series and is left out.
        expect(parsed.families.slice(0, 12)).toEqual([
          'latency_tracker_window_latency_seconds',
          'latency_tracker_window_samples',
          'latency_tracker_window_errors',
          'latency_tracker_latency_seconds',
          format === 'openmetrics' ? 'latency_tracker_jobs' : 'latency_tracker_jobs_total',
          'latency_tracker_jobs_in_progress',
          'latency_tracker_sample_ring_bytes',
          'latency_tracker_metric_ids',
          format === 'openmetrics' ? 'latency_tracker_samples' : 'latency_tracker_samples_total',
          format === 'openmetrics' ? 'latency_tracker_evicted_metrics' : 'latency_tracker_evicted_metrics_total',
          format === 'openmetrics' ? 'latency_tracker_http_requests' : 'latency_tracker_http_requests_total',
          'latency_tracker_http_requests_in_flight',
        ])
        // Process metrics from prom-client's collectors, sorted by name.
        const processFamilies = parsed.families.slice(12)
        expect(processFamilies).toEqual([...processFamilies].sort())
        for (const name of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
          expect(processFamilies).toContain(name)
        }
        expect(processFamilies).toContain(format === 'openmetrics' ? 'process_cpu_seconds' : 'process_cpu_seconds_total')
        // A gauge named _total breaks Prometheus naming: prom-client's are left out.
        expect(parsed.samples.filter((s) => /^nodejs_active_\w+_total$/.test(s.name))).toEqual([])
        if (format === 'openmetrics') {
          expect(parsed.meta.get('latency_tracker_latency_seconds')!.unit).toBe('seconds')
          expect(parsed.meta.get('latency_tracker_window_latency_seconds')!.unit).toBe('seconds')
        } else {
          expect([...parsed.meta.values()].every((m) => m.unit === undefined)).toBe(true)
        }
      })

      it('summary quantiles are the JSON snapshot in seconds; extra quantiles normalized, once each, ascending', async () => {
        const { app } = await populated()
        const json = (await app.inject({ url: '/metrics/checkout?quantiles=0.9,0.999' })).json()
        const parsed = parse(await scrape(app, format, '&quantiles=0.999,0.90,.5,0.9'), format)
        const summary = parsed.samples.filter((s) => s.name === 'latency_tracker_window_latency_seconds' && s.labels.id === 'checkout')
        expect(summary.map((s) => [s.labels.quantile, Number(s.value)])).toEqual([
          ['0.5', json.p50_ns / 1e9],
          ['0.9', json.quantiles['0.9'] / 1e9],
          ['0.95', json.p95_ns / 1e9],
          ['0.99', json.p99_ns / 1e9],
          ['0.999', json.quantiles['0.999'] / 1e9],
        ])
        const one = (name: string, labels: Record<string, string>) =>
          parsed.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        expect(one('latency_tracker_window_latency_seconds_count', { id: 'checkout' }).map((s) => s.value)).toEqual(['6'])
        expect(Number(one('latency_tracker_window_latency_seconds_sum', { id: 'checkout' })[0].value)).toBeCloseTo(110_002_600_700 / 1e9, 9)
        expect(one('latency_tracker_window_samples', { id: 'checkout' }).map((s) => s.value)).toEqual(['6'])
        // No samples in the window: NaN quantiles, zero counts.
        expect(one('latency_tracker_window_latency_seconds', { id: 'jobs-only' }).map((s) => s.value)).toEqual(['NaN', 'NaN', 'NaN', 'NaN', 'NaN'])
        expect(one('latency_tracker_window_latency_seconds_count', { id: 'jobs-only' }).map((s) => s.value)).toEqual(['0'])
      })

      it('the histogram is cumulative over the bounds in seconds, ending with +Inf equal to _count', async () => {
        const { app } = await populated()
        const parsed = parse(await scrape(app, format), format)
        const buckets = parsed.samples.filter((s) => s.name === 'latency_tracker_latency_seconds_bucket' && s.labels.id === 'checkout')
        const le = buckets.map((s) => s.labels.le)
        expect(le[0]).toBe('0.000001')
        expect(le.slice(-3)).toEqual(['50', '60', '+Inf'])
        expect(le.slice(0, -1).map(Number)).toEqual([...le.slice(0, -1).map(Number)].sort((x, y) => x - y))
        const counts = Object.fromEntries(buckets.map((s) => [s.labels.le, Number(s.value)]))
        // 1200, 1500 ≤ 2.5 µs; 98 µs ≤ 100 µs; 2.5 ms ≤ 2.5 ms (le is inclusive); 40 s ≤ 50 s; 70 s only in +Inf.
        expect(counts).toMatchObject({ '0.000001': 0, '0.0000025': 2, '0.0001': 3, '0.001': 3, '0.0025': 4, '25': 4, '50': 5, '60': 5, '+Inf': 6 })
        const values = buckets.map((s) => Number(s.value))
        expect(values).toEqual([...values].sort((x, y) => x - y))
        const count = parsed.samples.find((s) => s.name === 'latency_tracker_latency_seconds_count' && s.labels.id === 'checkout')
        const sum = parsed.samples.find((s) => s.name === 'latency_tracker_latency_seconds_sum' && s.labels.id === 'checkout')
        expect(count?.value).toBe('6')
        expect(Number(sum?.value)).toBeCloseTo(110.0026007, 9)
      })

      it('job counters, in-progress gauge and service families carry the store numbers', async () => {
        const { app } = await populated()
        const parsed = parse(await scrape(app, format), format)
        const lines = parsed.samples.map((s) => `${s.name}${labelSet(Object.entries(s.labels))} ${s.value}`)
        expect(lines).toEqual(
          expect.arrayContaining([
            'latency_tracker_jobs_total{id="checkout",event="created"} 5',
            'latency_tracker_jobs_total{id="checkout",event="started"} 4',
            'latency_tracker_jobs_total{id="checkout",event="completed"} 2',
            'latency_tracker_jobs_total{id="checkout",event="failed"} 1',
            'latency_tracker_jobs_total{id="checkout",event="retried"} 1',
            'latency_tracker_jobs_in_progress{id="checkout"} 1',
            'latency_tracker_jobs_in_progress{id="jobs-only"} 1',
            'latency_tracker_metric_ids 3',
            'latency_tracker_samples_total 8',
            'latency_tracker_evicted_metrics_total 0',
            'latency_tracker_http_requests_in_flight 1',
          ]),
        )
        expect(lines.filter((l) => l.startsWith('latency_tracker_http_requests_total')).map((l) => l.split(' ')[0])).toEqual(
          ['1xx', '2xx', '3xx', '4xx', '5xx'].map((c) => `latency_tracker_http_requests_total{class="${c}"}`),
        )
      })

      it('series come in a stable order: ids sorted, labels in a fixed order, the same on every scrape', async () => {
        const { app } = await populated()
        const keys = (text: string) =>
          parse(text, format)
            .samples.filter((s) => s.name.startsWith('latency_tracker_'))
            .map((s) => `${s.name}${labelSet(Object.entries(s.labels))}`)
        const first = keys(await scrape(app, format))
        expect(keys(await scrape(app, format))).toEqual(first)
        const ids = [...new Set(first.filter((k) => k.startsWith('latency_tracker_window_samples')))]
        expect(ids).toEqual([
          'latency_tracker_window_samples{id="checkout"}',
          'latency_tracker_window_samples{id="jobs-only"}',
          'latency_tracker_window_samples{id="zeta"}',
        ])
      })
    })
  }

  it('the summary is windowed, the histogram and the summary _count cumulative', async () => {
    const { app, clock } = await populated({ windowMs: 1_000 })
    clock.advance(500)
    await postJson(app, '/metrics/checkout/latency', { latency_ns: 3_000 })
    clock.advance(600) // the first six samples leave the window
    const parsed = parse(await scrape(app, 'prometheus'), 'prometheus')
    const value = (name: string, labels: Record<string, string>) =>
      parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
    expect(value('latency_tracker_window_samples', { id: 'checkout' })).toBe('1')
    expect(value('latency_tracker_window_latency_seconds', { id: 'checkout', quantile: '0.99' })).toBe('0.000003')
    expect(value('latency_tracker_window_latency_seconds_count', { id: 'checkout' })).toBe('7')
    expect(value('latency_tracker_latency_seconds_count', { id: 'checkout' })).toBe('7')
    expect(value('latency_tracker_latency_seconds_bucket', { id: 'checkout', le: '+Inf' })).toBe('7')
    // ?window_ms= narrows the summary like the JSON.
    const narrow = parse(await scrape(app, 'prometheus', '&window_ms=100'), 'prometheus')
    expect(narrow.samples.find((s) => s.name === 'latency_tracker_window_samples' && s.labels.id === 'checkout')?.value).toBe('0')
  })

  it('a large exposition (sent in many chunks) stays whole and grouped', async () => {
    const app = await build()
    const ids = Array.from({ length: 600 }, (_, i) => `id-${String(i).padStart(4, '0')}`)
    for (const id of ids) await postJson(app, `/metrics/${id}/latency`, { latency_ns: [1000, 2_000_000] })
    for (const format of ['prometheus', 'openmetrics'] as const) {
      const text = await scrape(app, format)
      expect(text.length).toBeGreaterThan(4 * 64 * 1024)
      const parsed = parse(text, format)
      const buckets = parsed.samples.filter((s) => s.name === 'latency_tracker_latency_seconds_bucket')
      expect(buckets.length).toBe(ids.length * 26)
      expect([...new Set(buckets.map((s) => s.labels.id))]).toEqual(ids)
      expect(buckets.filter((s) => s.labels.le === '+Inf').every((s) => s.value === '2')).toBe(true)
    }
  })

  it('uses the configured histogram bounds', async () => {
    const app = await build({ histogramBuckets: [0.001, 0.01, 0.1] })
    await postJson(app, '/metrics/x/latency', { latency_ns: [999_999, 1_000_000, 1_000_001, 50_000_000, 200_000_000] })
    const parsed = parse(await scrape(app, 'openmetrics'), 'openmetrics')
    const buckets = parsed.samples.filter((s) => s.name === 'latency_tracker_latency_seconds_bucket')
    expect(buckets.map((s) => [s.labels.le, s.value])).toEqual([
      ['0.001', '2'],
      ['0.01', '3'],
      ['0.1', '4'],
      ['+Inf', '5'],
    ])
  })

  it('runs in time slices: a metric deleted while the scrape yields to the event loop is left out', async () => {
    // Each snapshot reads the store clock; a clock that takes 6 ms per read makes every
    // snapshot longer than a slice, so the loop yields after each metric.
    for (const format of ['prometheus', 'openmetrics', 'json'] as const) {
      let slow = false
      let slowReads = 0
      const clock = manualClock()
      const app = await build({
        now: () => {
          if (slow) {
            slowReads++
            const until = performance.now() + 6
            while (performance.now() < until);
          }
          return clock.now()
        },
      })
      for (const id of ['a', 'b', 'c']) await postJson(app, `/metrics/${id}/latency`, { latency_ns: 1000 })
      slow = true
      let deleted = false
      let readsBeforeDelete = -1
      const pending = app.inject({ url: `/metrics?format=${format}` })
      // Runs in the first yield: after the snapshot of a, before that of b.
      setImmediate(() => {
        readsBeforeDelete = slowReads
        deleted = app.store.delete('b')
      })
      const res = await pending
      slow = false
      expect(deleted).toBe(true)
      expect(readsBeforeDelete, format).toBe(1)
      expect(res.statusCode).toBe(200)
      if (format === 'json') {
        expect(res.json().metrics.map((m: { id: string }) => m.id)).toEqual(['a', 'c'])
      } else {
        expect(res.body).toContain('latency_tracker_window_samples{id="a"} 1')
        expect(res.body).not.toContain('id="b"')
        expect(res.body).toContain('latency_tracker_window_samples{id="c"} 1')
      }
    }
  })
})
