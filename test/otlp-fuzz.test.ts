import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build } from './helper.js'
import { PROTOBUF, T0, decodeProtobufResponse, encodeProtobuf, expectedId, intAttribute, postTraces, stringAttribute } from './otlp-helpers.js'
import { type StatusSample, alignMean, refStats } from './reference.js'

/** A generated span: the times as 64-bit integers, the status attributes as they would be sent. */
interface GenSpan {
  name: string
  kind: number
  start: bigint
  end: bigint
  httpStatus?: number
  legacyStatus?: number
  statusAsString: boolean
  statusCode: number
}
interface GenResource {
  service?: string
  spans: GenSpan[]
}

const MAX_U64 = 2n ** 64n - 1n
const time = fc.oneof(fc.bigInt({ min: T0, max: T0 + 10n ** 12n }), fc.bigInt({ min: 0n, max: MAX_U64 }))
const delta = fc.oneof(fc.bigInt({ min: -5n, max: 10n ** 10n }), fc.constantFrom(0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n)))
const genSpan: fc.Arbitrary<GenSpan> = fc
  .record({
    name: fc.oneof(fc.constantFrom('GET /x', 'db', 'a'), fc.string({ maxLength: 150, unit: 'binary' })),
    kind: fc.integer({ min: 0, max: 6 }),
    start: time,
    delta,
    httpStatus: fc.option(fc.oneof(fc.integer({ min: 0, max: 999 }), fc.integer({ min: -3, max: 100_000 })), { nil: undefined }),
    legacyStatus: fc.option(fc.integer({ min: -3, max: 1200 }), { nil: undefined }),
    statusAsString: fc.boolean(),
    statusCode: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ delta: d, start, ...rest }) => {
    const end = start + d
    return { ...rest, start, end: end < 0n ? 0n : end > MAX_U64 ? MAX_U64 : end }
  })
const genRequest: fc.Arbitrary<GenResource[]> = fc.array(
  fc.record({
    service: fc.option(fc.oneof(fc.constantFrom('shop', ''), fc.string({ maxLength: 20 })), { nil: undefined }),
    spans: fc.array(genSpan, { maxLength: 8 }),
  }),
  { maxLength: 3 },
)

/** The contract, written out plainly: which samples each id gets, and how many spans are rejected. */
function reference(resources: GenResource[]): { byId: Map<string, StatusSample[]>; rejected: number } {
  const byId = new Map<string, StatusSample[]>()
  let rejected = 0
  for (const { service, spans } of resources) {
    for (const s of spans) {
      const d = s.end - s.start
      const intStatus = s.statusAsString ? undefined : (s.httpStatus ?? s.legacyStatus)
      if (d < 1n || d > 2n ** 53n - 1n || (intStatus !== undefined && (intStatus < 0 || intStatus > 999))) {
        rejected++
        continue
      }
      const status = intStatus ?? (s.statusCode === 2 ? 500 : undefined)
      const id = expectedId(service === undefined || service === '' ? 'unknown_service' : service, s.name)
      byId.set(id, [...(byId.get(id) ?? []), { value: Number(d), status }])
    }
  }
  return { byId, rejected }
}

/** The request in the OTLP JSON mapping; 64-bit times as strings or as bare number literals. */
function toRequest(resources: GenResource[], timesAsNumbers: boolean) {
  const time = (t: bigint) => (timesAsNumbers ? `\u0000BIG:${t}` : String(t))
  return {
    resourceSpans: resources.map(({ service, spans }) => ({
      resource: { attributes: service === undefined ? [] : [stringAttribute('service.name', service)] },
      scopeSpans: [
        {
          scope: { name: 'fuzz' },
          spans: spans.map((s) => {
            const attributes = []
            if (s.httpStatus !== undefined)
              attributes.push(
                s.statusAsString ? stringAttribute('http.response.status_code', String(s.httpStatus)) : intAttribute('http.response.status_code', s.httpStatus),
              )
            if (s.legacyStatus !== undefined)
              attributes.push(s.statusAsString ? stringAttribute('http.status_code', String(s.legacyStatus)) : intAttribute('http.status_code', s.legacyStatus))
            return { name: s.name, kind: s.kind, startTimeUnixNano: time(s.start), endTimeUnixNano: time(s.end), attributes, status: { code: s.statusCode } }
          }),
        },
      ],
    })),
  }
}

function jsonText(resources: GenResource[], timesAsNumbers: boolean): string {
  return JSON.stringify(toRequest(resources, timesAsNumbers)).replace(/"\\u0000BIG:(\d+)"/g, '$1')
}

async function allMetrics(app: FastifyInstance) {
  return (await app.inject({ method: 'GET', url: '/metrics' })).json()
}

/** Every sample stored is one the reference accepts, with its status; nothing else. */
async function expectStoreMatches(app: FastifyInstance, byId: Map<string, StatusSample[]>) {
  const { metrics } = await allMetrics(app)
  expect(metrics.map((m: { id: string }) => m.id).sort()).toEqual([...byId.keys()].sort())
  for (const m of metrics) {
    const want = refStats(byId.get(m.id)!)
    expect(alignMean(m, want), m.id).toMatchObject(want)
  }
}

const ENCODINGS = [
  {
    name: 'protobuf',
    type: PROTOBUF,
    body: (r: GenResource[]) => encodeProtobuf(toRequest(r, false) as never),
    rejected: (res: { rawPayload: Buffer }) => Number(decodeProtobufResponse(res.rawPayload).partialSuccess?.rejectedSpans ?? 0),
  },
  {
    name: 'JSON, times as strings',
    type: 'application/json',
    body: (r: GenResource[]) => jsonText(r, false),
    rejected: (res: { json(): unknown }) => rejectedFromJson(res.json()),
  },
  {
    name: 'JSON, times as numbers',
    type: 'application/json',
    body: (r: GenResource[]) => jsonText(r, true),
    rejected: (res: { json(): unknown }) => rejectedFromJson(res.json()),
  },
] as const

function rejectedFromJson(body: unknown): number {
  return Number((body as { partialSuccess?: { rejectedSpans: string } }).partialSuccess?.rejectedSpans ?? 0)
}

describe.each(ENCODINGS)('POST /v1/traces fuzz, $name', (encoding) => {
  it('stores exactly the spans the contract accepts and reports the others as rejected', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    await fc.assert(
      fc.asyncProperty(genRequest, fc.boolean(), async (resources, gzip) => {
        await app.inject({ method: 'DELETE', url: '/metrics' })
        const body = encoding.body(resources)
        const res = await postTraces(app, encoding.type, gzip ? gzipSync(body) : body, gzip ? { 'content-encoding': 'gzip' } : {})
        expect(res.statusCode, res.body.slice(0, 300)).toBe(200)
        const { byId, rejected } = reference(resources)
        expect(encoding.rejected(res as never)).toBe(rejected)
        await expectStoreMatches(app, byId)
      }),
      { numRuns: 60 },
    )
  }, 120_000)

  it('mutated and truncated bodies: never 5xx, and a refused body stores nothing', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const mutation = fc.record({
      cut: fc.option(fc.nat(), { nil: undefined }),
      flips: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
    })
    await fc.assert(
      fc.asyncProperty(genRequest, mutation, async (resources, { cut, flips }) => {
        const bytes = Buffer.from(encoding.body(resources))
        for (const { at, byte } of flips) if (bytes.length > 0) bytes[at % bytes.length] = byte
        const body = cut === undefined || bytes.length === 0 ? bytes : bytes.subarray(0, cut % bytes.length)
        const before = (await allMetrics(app)).service
        const res = await postTraces(app, encoding.type, body)
        expect([200, 400], res.body.slice(0, 300)).toContain(res.statusCode)
        const after = (await allMetrics(app)).service
        const stored = after.samples_total - before.samples_total
        if (res.statusCode === 400) {
          expect(stored).toBe(0)
          expect(after.otlp).toEqual(before.otlp)
        } else {
          expect(stored).toBe(after.otlp.spans - before.otlp.spans)
          expect(after.otlp.rejected_spans - before.otlp.rejected_spans).toBe(encoding.rejected(res as never))
        }
      }),
      { numRuns: 80 },
    )
  }, 120_000)
})

describe('POST /v1/traces fuzz, random bytes', () => {
  it.each([PROTOBUF, 'application/json'])(
    '%s: never 5xx, and a refused body stores nothing',
    async (type) => {
      const app = await build({ maxEventLoopDelayMs: 0 })
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, gzip) => {
          const body = gzip ? gzipSync(bytes) : Buffer.from(bytes)
          const before = (await allMetrics(app)).service.samples_total
          const res = await postTraces(app, type, body, gzip ? { 'content-encoding': 'gzip' } : {})
          expect([200, 400]).toContain(res.statusCode)
          if (res.statusCode === 400) expect((await allMetrics(app)).service.samples_total).toBe(before)
        }),
        { numRuns: 200 },
      )
    },
    120_000,
  )
})
