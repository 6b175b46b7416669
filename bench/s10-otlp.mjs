// S10: OpenTelemetry spans through POST /v1/traces, batches of 512 spans (the SDK's default
// maxExportBatchSize), protobuf and JSON, 10 connections, 80 ids (10 services × 8 operations),
// with S2's JSON batches (1,000 samples per POST, 10 connections, 100 ids) measured on the same
// service in the same rounds as the reference. Metric: spans (samples) recorded per second.
// Target: protobuf >= 0.5× S2's samples/s.
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { batchBodies, makeIds, rng } from './lib/data.mjs'
import { JSON_HEADERS, getJson } from './lib/http.mjs'
import { describe, failures, runLoad } from './lib/load.mjs'
import { startService } from './lib/servers.mjs'

const CONNECTIONS = 10
const SPANS = 512
const SERVICES = 10
const OPERATIONS = [
  'GET /api/items/:id',
  'POST /api/orders',
  'GET /api/cart',
  'PUT /api/cart/:item',
  'SELECT items',
  'SELECT orders',
  'redis GET',
  'publish order.created',
]
const BODIES = 20
const S2_IDS = 100
const S2_BATCH = 1_000
const PROTO_DIR = fileURLToPath(new URL('../src/otlp/proto/', import.meta.url))

function requestType() {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : PROTO_DIR + target)
  root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto'])
  return root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
}

const hex = (r, bytes) =>
  Array.from({ length: bytes }, () =>
    Math.floor(r() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('')

/**
 * One export request as the JS SDK's HTTP instrumentation makes it: one resource with
 * the SDK's attributes, one scope, 512 spans with trace, span and parent ids, a server or
 * client kind, six attributes (the status among them) and a status.
 */
function exportRequest(service, seed) {
  const r = rng(seed)
  let start = 1_764_460_800_000_000_000n + BigInt(seed) * 1_000_000_000n
  const spans = Array.from({ length: SPANS }, (_, i) => {
    const name = OPERATIONS[i % OPERATIONS.length]
    const duration = BigInt(Math.round(10 ** (4 + 5 * r())))
    start += 1000n
    const http = name.includes('/')
    return {
      traceId: hex(r, 16),
      spanId: hex(r, 8),
      parentSpanId: hex(r, 8),
      flags: 257,
      name,
      kind: http ? 2 : 3,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + duration),
      attributes: [
        { key: 'http.request.method', value: { stringValue: name.split(' ')[0] } },
        { key: 'http.route', value: { stringValue: name.split(' ')[1] ?? name } },
        { key: 'url.path', value: { stringValue: `/api/items/${i}` } },
        { key: 'server.address', value: { stringValue: 'api.example.com' } },
        { key: http ? 'http.response.status_code' : 'db.system', value: http ? { intValue: String(r() < 0.95 ? 200 : 503) } : { stringValue: 'postgresql' } },
        { key: 'network.protocol.version', value: { stringValue: '1.1' } },
      ],
      status: {},
    }
  })
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: service } },
            { key: 'telemetry.sdk.language', value: { stringValue: 'nodejs' } },
            { key: 'telemetry.sdk.name', value: { stringValue: 'opentelemetry' } },
            { key: 'telemetry.sdk.version', value: { stringValue: '2.12.1' } },
          ],
        },
        scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http', version: '0.200.0' }, spans }],
      },
    ],
  }
}

function protobufBody(type, request) {
  const withBytes = JSON.parse(JSON.stringify(request), (key, value) => (key.endsWith('panId') || key === 'traceId' ? Buffer.from(value, 'hex') : value))
  return Buffer.from(type.encode(type.fromObject(withBytes)).finish())
}

export default {
  name: 's10',
  title: `OTLP/HTTP /v1/traces, ${SPANS} spans/request (protobuf, JSON), ${CONNECTIONS} connections, beside S2's JSON batches`,
  async run(ctx) {
    const type = requestType()
    const services = makeIds('otlp-svc', SERVICES)
    const requests = Array.from({ length: BODIES }, (_, i) => exportRequest(services[i % SERVICES], 100 + i))
    const asRequests = (contentType, bodies) => bodies.map((body) => ({ method: 'POST', path: '/v1/traces', headers: { 'content-type': contentType }, body }))
    const protobufBodies = requests.map((r) => protobufBody(type, r))
    const jsonBodies = requests.map((r) => JSON.stringify(r))
    const loads = {
      protobuf: { requests: asRequests('application/x-protobuf', protobufBodies), perRequest: SPANS },
      json: { requests: asRequests('application/json', jsonBodies), perRequest: SPANS },
      s2: {
        requests: batchBodies(S2_IDS, S2_BATCH, 21).map((body, i) => ({
          method: 'POST',
          path: `/metrics/${makeIds('s2', S2_IDS)[i]}/latency`,
          headers: JSON_HEADERS,
          body,
        })),
        perRequest: S2_BATCH,
      },
    }
    ctx.progress(`bodies: protobuf ${Math.round(protobufBodies[0].length / 1024)} KiB, JSON ${Math.round(jsonBodies[0].length / 1024)} KiB per ${SPANS} spans`)
    const service = await startService()
    try {
      const run = (name, duration) => runLoad(service.url, { connections: CONNECTIONS, duration, requests: loads[name].requests })
      const rate = (name, x) => x.rps * loads[name].perRequest
      ctx.progress(`warm-up ${ctx.warmupS} s each`)
      for (const name of Object.keys(loads)) await run(name, ctx.warmupS)
      const rounds = { protobuf: [], json: [], s2: [] }
      const orders = [
        ['protobuf', 'json', 's2'],
        ['s2', 'protobuf', 'json'],
        ['json', 's2', 'protobuf'],
      ]
      for (let r = 0; r < ctx.rounds; r++) {
        for (const name of orders[r % orders.length]) {
          const result = await run(name, ctx.loadS)
          rounds[name].push(result)
          ctx.progress(
            `round ${r + 1}/${ctx.rounds} ${name}: ${Math.round(rate(name, result)).toLocaleString('en-US')} ${name === 's2' ? 'samples' : 'spans'}/s (${describe(result)})`,
          )
        }
      }
      // Every span the load sent is recorded: none rejected or skipped (checked in the details).
      const otlp = (await getJson(service.url, '/metrics')).service.otlp
      const s2 = rounds.s2.map((x) => rate('s2', x))
      return {
        rows: [
          ctx.row({
            metric: 'spans/s, protobuf',
            unit: 'spans/s',
            service: rounds.protobuf.map((x) => rate('protobuf', x)),
            baseline: s2,
            baselineIs: "S2's samples/s on the same service, same rounds",
            target: { on: 'ratio', op: '>=', value: 0.5, text: '>= 0.5× S2 samples/s' },
            note: failures(rounds.protobuf),
          }),
          ctx.row({
            metric: 'spans/s, JSON',
            unit: 'spans/s',
            service: rounds.json.map((x) => rate('json', x)),
            baseline: s2,
            baselineIs: "S2's samples/s on the same service, same rounds",
            note: failures(rounds.json),
          }),
          ctx.row({
            metric: 'p99 latency, protobuf',
            unit: 'ms',
            service: rounds.protobuf.map((x) => x.p99_ms),
            baseline: rounds.s2.map((x) => x.p99_ms),
            baselineIs: "S2's p99",
          }),
        ],
        details: {
          connections: CONNECTIONS,
          spans_per_request: SPANS,
          protobuf_bytes: protobufBodies[0].length,
          json_bytes: jsonBodies[0].length,
          s2_batch: S2_BATCH,
          seconds_per_run: ctx.loadS,
          otlp_counters_at_end: otlp,
          rounds,
        },
      }
    } finally {
      await service.stop()
    }
  },
}
