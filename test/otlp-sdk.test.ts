import type { AddressInfo } from 'node:net'
import { type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build } from './helper.js'
import { expectedId, snapshotOf } from './otlp-helpers.js'
import { type StatusSample, alignMean, refStats } from './reference.js'

/**
 * The real OpenTelemetry JS SDK (BatchSpanProcessor) with both official OTLP/HTTP
 * exporters, unchanged but for the URL, sending to the service on a loopback port.
 */
const EXPORTERS = [
  { name: 'exporter-trace-otlp-proto', make: (url: string, options: object) => new ProtobufExporter({ url, ...options }) },
  { name: 'exporter-trace-otlp-http (JSON)', make: (url: string, options: object) => new JsonExporter({ url, ...options }) },
]
const COMPRESSION = [{ compression: 'none' }, { compression: 'gzip' }] as const

function tracesUrl(app: FastifyInstance): string {
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}/v1/traces`
}

/** Wraps an exporter to keep the result of every export (the SDK only logs failures). */
function recording(exporter: SpanExporter) {
  const results: number[] = []
  const wrapped: SpanExporter = {
    export: (spans: ReadableSpan[], done) =>
      exporter.export(spans, (result) => {
        results.push(result.code)
        done(result)
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  }
  return { wrapped, results }
}

/** [seconds, nanoseconds] of a Unix time in ns. */
function hrTime(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)]
}

interface Planned {
  name: string
  kind: SpanKind
  durationNs: number
  httpStatus?: number
  error?: boolean
}

/** Durations from 1 ns to ~10 s, with statuses, errors and several names, from a fixed seed. */
function plannedSpans(count: number): Planned[] {
  let seed = 12345
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
  const names = ['GET /items/:id', 'POST /orders', 'db.query', 'queue send']
  return Array.from({ length: count }, (_, i) => {
    const name = names[i % names.length]
    const durationNs = 1 + (next() % 10_000) * 10 ** (next() % 7)
    const plan: Planned = { name, kind: i % 4 === 3 ? SpanKind.PRODUCER : SpanKind.SERVER, durationNs }
    if (name.startsWith('GET') || name.startsWith('POST')) plan.httpStatus = [200, 201, 404, 503][next() % 4]
    if (name === 'db.query' && next() % 3 === 0) plan.error = true
    return plan
  })
}

async function sendThroughSdk(exporter: SpanExporter, service: string, plans: Planned[]): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 64, scheduledDelayMillis: 50 })],
  })
  const tracer = provider.getTracer('otlp-sdk-test')
  // Real Unix times (past 2^53 ns), a microsecond apart, with nanosecond parts.
  let start = BigInt(Date.now()) * 1_000_000n + 123_456n
  for (const plan of plans) {
    const attributes = plan.httpStatus === undefined ? {} : { 'http.response.status_code': plan.httpStatus }
    const s = tracer.startSpan(plan.name, { kind: plan.kind, startTime: hrTime(start), attributes })
    if (plan.error) s.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' })
    s.end(hrTime(start + BigInt(plan.durationNs)))
    start += 1_000n
  }
  await provider.forceFlush()
  await provider.shutdown()
}

describe.each(EXPORTERS)('OpenTelemetry SDK + $name', ({ make }) => {
  it.each(COMPRESSION)('compression $compression: exact durations, ids and statuses in the snapshot', async ({ compression }) => {
    const app = await build()
    const { wrapped, results } = recording(make(tracesUrl(app), { compression }))
    const plans = plannedSpans(300)
    await sendThroughSdk(wrapped, 'sdk-shop', plans)
    expect(results.length).toBeGreaterThan(1)
    expect(
      results.every((code) => code === 0),
      `export results ${results.join(', ')}`,
    ).toBe(true)

    const byId = new Map<string, StatusSample[]>()
    for (const p of plans) {
      const id = expectedId('sdk-shop', p.name)
      const status = p.httpStatus ?? (p.error ? 500 : undefined)
      byId.set(id, [...(byId.get(id) ?? []), { value: p.durationNs, status }])
    }
    for (const [id, samples] of byId) {
      const got = await snapshotOf(app, id)
      expect(got, id).toBeDefined()
      const want = refStats(samples)
      expect(alignMean(got, want)).toMatchObject(want)
    }
    const ids = (await app.inject({ method: 'GET', url: '/metrics' })).json().metrics.map((m: { id: string }) => m.id)
    expect(ids.sort()).toEqual([...byId.keys()].sort())
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json().service.otlp).toMatchObject({ spans: 300, rejected_spans: 0 })
  })

  it('sends the bearer token it is given; without it, the export fails and nothing is stored', async () => {
    const app = await build({ authToken: 'otlp-secret' })
    const plans = plannedSpans(10)
    const denied = recording(make(tracesUrl(app), {}))
    // The 401 is not retried: the flush fails with it.
    const failure = await sendThroughSdk(denied.wrapped, 'denied', plans).then(
      () => undefined,
      (err: unknown) => err,
    )
    // forceFlush rejects with the exporter's errors, each carrying the status and the answer's body.
    expect([failure].flat()[0]).toMatchObject({ code: 401, data: expect.stringContaining('bearer token missing') })
    expect(denied.results).not.toContain(0)
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer otlp-secret' } })).json().metrics).toEqual([])

    const allowed = recording(make(tracesUrl(app), { headers: { authorization: 'Bearer otlp-secret' } }))
    await sendThroughSdk(allowed.wrapped, 'allowed', plans)
    expect(allowed.results.every((code) => code === 0)).toBe(true)
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer otlp-secret' } })
    expect(res.json().service.otlp.spans).toBe(10)
  })
})
