/**
 * Property-based HTTP fuzzing (issue 5, "Fuzzing and bad input"): random methods,
 * paths built from the real routes, ids, query strings, content types and bodies,
 * sent through app.inject in short sequences against a small store (so 429 is
 * reached) seeded before every run. After every request:
 *
 *   1. inject resolves and the status is below 500, and nothing is logged at warn or above;
 *   2. every 4xx (except to HEAD, which has no body) is JSON {statusCode, error, message}
 *      with statusCode equal to the status, error its reason phrase, message non-empty;
 *   3. a rejected request (status >= 400) leaves the `metrics` of GET /metrics unchanged;
 *   4. an accepted POST (202) grew exactly one metric, by exactly the accepted count
 *      (`total` for latency, the event's job counter for jobs), and `accepted` is
 *      what the body carried; nothing else moved;
 *   5. a DELETE 204 removed exactly what it names; any other response changed nothing;
 *   6. requests valid by the contract (generated as such) are 202, or 429 only for a
 *      new id when MAX_METRICS ids exist.
 *
 * The clock is frozen, so snapshots are comparable exactly. Failures print the
 * fast-check seed and the shrunk request sequence; FUZZ_SEED=<n> replays a seed.
 */
import { STATUS_CODES } from 'node:http'
import { Writable } from 'node:stream'
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { BODY_LIMIT } from '../src/http/app.js'
import { build, postJson } from './helper.js'

const MAX_METRICS = 50
const MAX_SAMPLES = 100
const MAX_NS = Number.MAX_SAFE_INTEGER
const EVENTS = ['created', 'started', 'completed', 'failed', 'retried'] as const
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const
type Method = (typeof METHODS)[number]

/** How many sequences each property runs, and how long a sequence is. */
const NUM_RUNS = 150
const MAX_SEQUENCE = 6
/** A generous ceiling (a few seconds is typical), so a busy machine does not turn a pass into a timeout. */
const FUZZ_TIMEOUT_MS = 120_000
const SEED = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }

// ---------------------------------------------------------------- requests

interface FuzzRequest {
  method: Method
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
  /** Set only for requests valid by the contract: the write they must perform. */
  valid?: { id: string; route: 'latency' | 'jobs' }
}

const clip = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s)

function describeRequest(r: FuzzRequest): string {
  const payload =
    r.payload === undefined
      ? 'none'
      : Buffer.isBuffer(r.payload)
        ? `<${r.payload.length} bytes ${clip(r.payload.toString('hex'), 80)}>`
        : JSON.stringify(clip(r.payload))
  return `${r.method} ${clip(r.url)} headers=${JSON.stringify(r.headers)} payload=${payload}${r.valid ? ' (valid)' : ''}`
}

/** fast-check prints counterexamples with this, so megabyte payloads stay readable. */
function withToString(r: FuzzRequest): FuzzRequest {
  return Object.assign(r, { [fc.toStringMethod]: () => describeRequest(r) })
}

// ---------------------------------------------------------------- ids and paths

/** Ids seeded before each run; the first ones are reachable by name from the id arbitrary. */
const NAMED_IDS = ['checkout', '__proto__', 'constructor', 'toString', 'a.b:c-d_e', '...', 'x'.repeat(128)]
const seedId = (i: number) => (i < NAMED_IDS.length ? NAMED_IDS[i] : `seed-${i}`)

const ID_CHARS = 'ABCXYZabcxyz0189_.:-'
/** Ids the contract accepts. `.` and `..` are too, but URL parsing removes them as dot segments. */
const validId: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(...NAMED_IDS),
    fc.integer({ min: 0, max: MAX_METRICS + 5 }).map(seedId),
    fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 16 }),
    fc.constantFrom('hasOwnProperty', 'valueOf', 'prototype', '.a', 'a.', ':', '-', '_', '0', 'X'.repeat(127)),
  )
  .filter((id) => id !== '.' && id !== '..')

const pctEncodeAll = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')

/** A valid id as a path segment: raw, URI-encoded, or every byte percent-encoded. */
const validSegment = fc
  .tuple(validId, fc.constantFrom('raw', 'uri', 'pct'))
  .map(([id, enc]) => ({ id, segment: enc === 'raw' ? id : enc === 'uri' ? encodeURIComponent(id) : pctEncodeAll(id) }))

/** Path segments that are not valid ids, or not decodable at all. */
const invalidSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    'x'.repeat(129),
    // Past the router's maxParamLength Fastify once answered 414 "Bad Request" itself.
    'x'.repeat(2048),
    'x'.repeat(2049),
    'x'.repeat(5000),
    '.',
    '..',
    '%2e',
    '%2E%2E',
    '%',
    '%%',
    '%zz',
    '%0',
    '%00',
    '%2F',
    'a%2Fb',
    '%E2%82',
    '%C0%AF',
    '%FF',
    '%u0041',
    '%252F',
    'a b',
    'a%20b',
    'a+b',
    'a/b',
    'a?b',
    'a#b',
    'a;b',
    'a,b',
    'a\\b',
    'é',
    '%C3%A9',
    '\u{1F600}',
    '\u0000',
    'a\u200Bb',
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).map((s) => (s.length % 2 === 0 ? s : encodeURIComponent(s))),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
  fc.string({ unit: fc.constantFrom(...'%0123456789abcdefABCDEFgz'), minLength: 1, maxLength: 12 }),
)

const SUFFIXES = ['latency', 'jobs'] as const
const pathArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(
          validSegment.map((s) => s.segment),
          invalidSegment,
        ),
        fc.constantFrom(...SUFFIXES),
      )
      .map(([s, r]) => `/metrics/${s}/${r}`),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        validSegment.map((s) => s.segment),
        invalidSegment,
      )
      .map((s) => `/metrics/${s}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/metrics',
      '/metrics/',
      '/healthz',
      '/healthz/',
      '/docs/json',
      '/docs',
      '/',
      '/METRICS',
      '/metrics/checkout/latency/',
      '/metrics/checkout/LATENCY',
      '/metrics/checkout/other',
      '/metrics/checkout/latency/extra',
      '/metrics//latency',
      '//metrics',
      '/metrics/../healthz',
    ),
  },
)

// ---------------------------------------------------------------- query strings

const queryKey = fc.constantFrom('window_ms', 'quantiles', 'format', 'window_ms[]', 'quantiles[0]', '__proto__', 'constructor', '', 'x', 'WINDOW_MS')
const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1', '1000', '60000', '60001', '0', '-1', '1.5', '1e3', ' 1', '0x10', '', '9'.repeat(20), '9'.repeat(5000), '999999999', '1000000000'),
  fc.constantFrom(
    '0.5',
    '0.5,0.99',
    '0.07',
    '1',
    '1.0',
    '.5',
    '1.01',
    ',',
    '0.5,,0.9',
    Array(64).fill('0.5').join(','),
    Array(65).fill('0.5').join(','),
    `0.${'9'.repeat(30)}`,
    `0.${'9'.repeat(40)}`,
    'NaN',
    '-0.5',
    '0.5 ',
  ),
  fc.constantFrom('json', 'prometheus', 'openmetrics', 'xml', 'JSON', 'text'),
  fc.nat().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
)
const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.tuple(queryKey, queryValue, fc.constantFrom('enc', 'raw', 'bare')), { minLength: 1, maxLength: 4 })
      .map(
        (pairs) =>
          '?' + pairs.map(([k, v, how]) => (how === 'bare' ? k : how === 'enc' ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v}`)).join('&'),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '?window_ms=1&window_ms=2',
      '?quantiles=0.5&quantiles=0.9',
      '?format=json&format=json',
      '?',
      '?&&',
      '?=',
      '?%zz=1',
      '?window_ms=%zz',
    ),
  },
)

// ---------------------------------------------------------------- content types and accept

const ACCEPTED_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON']
const contentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ACCEPTED_TYPES) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'text/plain',
      'text/plain; charset=utf-8',
      'multipart/form-data; boundary=----fuzz',
      'multipart/form-data',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'application/jsonx',
      'application/json-patch+json',
      'application/vnd.api+json',
      'text/json',
      'application/xml',
      '*/*',
      'application/*',
      '',
      ' ',
      ';',
      'application/json;',
      'application/json; charset',
      'application/json; charset="utf-8"',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json; foo=bar; baz',
      'application/json, text/plain',
      'application /json',
      'application/json ; q=1',
      'application/json; charset=\u00e9',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }) },
)

const acceptArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/json',
      'text/plain',
      'text/plain; version=0.0.4',
      'application/openmetrics-text; version=1.0.0',
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      '*/*;q=0',
      'text/html',
      ';;;,,,',
      'text/plain;q=2',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }) },
)

// ---------------------------------------------------------------- bodies

const validNs = fc.oneof(fc.integer({ min: 1, max: MAX_NS }), fc.constantFrom(1, 2, MAX_NS, MAX_NS - 1, 2 ** 31, 2 ** 32))
/** Number-ish JSON texts at and past the edges of the contract; some are valid (1e3, 1.0), most are not. */
const edgeText = fc.constantFrom(
  '0',
  '-1',
  '1.5',
  '9007199254740992',
  '9007199254740991',
  '9007199254740993',
  '1e308',
  '-1e308',
  '1e400',
  '1E3',
  '1.0',
  '1.5e3',
  '-0',
  '0.0',
  '1e-7',
  '4.9e-324',
  '100000000000000000000',
  '"1"',
  '"123"',
  '"9007199254740991"',
  '"1e3"',
  'null',
  'true',
  'false',
  '[]',
  '{}',
  '[1]',
  '"abc"',
)
const nsText = fc.oneof({ weight: 3, arbitrary: validNs.map(String) }, { weight: 2, arbitrary: edgeText })

/** Up to 10,001 values as text: all valid, or one bad value somewhere in them. */
const bigArrayText = fc
  .record({ n: fc.constantFrom(9_999, 10_000, 10_001), base: fc.integer({ min: 1, max: 1e12 }), bad: fc.option(fc.tuple(fc.nat(), edgeText)) })
  .map(({ n, base, bad }) => {
    const values: string[] = Array.from({ length: n }, (_, i) => String(base + i))
    if (bad !== null) values[bad[0] % n] = bad[1]
    return `[${values.join(',')}]`
  })

const latencyBody: fc.Arbitrary<string> = fc.oneof(
  nsText.map((v) => `{"latency_ns":${v}}`),
  fc.array(nsText, { maxLength: 20 }).map((vs) => `{"latency_ns":[${vs.join(',')}]}`),
  bigArrayText.map((a) => `{"latency_ns":${a}}`),
  fc.jsonValue().map((v) => JSON.stringify({ latency_ns: v })),
  fc
    .tuple(validNs, fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 }))
    .map(([v, extra]) => JSON.stringify({ latency_ns: v, ...extra })),
  fc.constantFrom(
    '{"latency_ns":1,"__proto__":{"x":1}}',
    '{"__proto__":{"latency_ns":1}}',
    '{"constructor":{"prototype":{"latency_ns":1}}}',
    '{"latency_ns":"x","latency_ns":5}',
    '{"latency_ns":5,"latency_ns":"x"}',
    '{"LATENCY_NS":1}',
    '{"latency_ns":[1,2,3],}',
    "{'latency_ns':1}",
    '\uFEFF{"latency_ns":1}',
    ' \n\t{ "latency_ns" : [ 1 , 2 ] } \n',
  ),
)

const jobsBody: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...EVENTS).map((e) => JSON.stringify(e)) },
        fc.constantFrom('"CREATED"', '""', '"start"', '"in_progress"', '"__proto__"', '1', 'null', '["created"]'),
      ),
      fc.option(fc.oneof(fc.integer({ min: 1, max: 1_000_000 }).map(String), fc.constantFrom('1000000', '1000001', '0'), edgeText)),
    )
    .map(([e, c]) => (c === null ? `{"event":${e}}` : `{"event":${e},"count":${c}}`)),
  fc.record({ event: fc.constantFrom(...EVENTS), extra: fc.jsonValue({ maxDepth: 2 }) }).map(({ event, extra }) => JSON.stringify({ event, extra })),
  fc.jsonValue().map((v) => JSON.stringify({ event: v })),
)

const anyJson = (v: unknown) => {
  try {
    return JSON.stringify(v) ?? ''
  } catch {
    return ''
  }
}

const nested = (depth: number, open: string, close: string, inner: string) => open.repeat(depth) + inner + close.repeat(depth)

const bodyArb: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
  { weight: 6, arbitrary: latencyBody },
  { weight: 4, arbitrary: jobsBody },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map(anyJson) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(latencyBody, jobsBody), fc.nat()).map(([b, cut]) => b.slice(0, cut % Math.max(1, b.length))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, '', ' ', '\n', 'null', '0', '[]', '{}', '"x"', 'undefined', '{"latency_ns":}') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `{"latency_ns":${nested(5_000, '[', ']', '1')}}`,
      `{"latency_ns":${nested(100_000, '[', ']', '')}}`,
      nested(50_000, '{"a":', '}', '{"__proto__":1}'),
      nested(50_000, '{"a":', '}', '1'),
    ),
  },
  {
    weight: 1,
    // Around the 1 MiB body limit: a valid body padded to exactly the limit, one byte over, and far over.
    arbitrary: fc.constantFrom(BODY_LIMIT, BODY_LIMIT + 1, 2 * BODY_LIMIT).map((size) => {
      const head = '{"latency_ns":[1,2,3]}'
      return head + ' '.repeat(size - head.length)
    }),
  },
)

// ---------------------------------------------------------------- whole requests

const headersOf = (contentType: string | undefined, accept: string | undefined): Record<string, string> => ({
  ...(contentType === undefined ? {} : { 'content-type': contentType }),
  ...(accept === undefined ? {} : { accept }),
})

const buildRequest = (method: Method, url: string, headers: Record<string, string>, payload: string | Buffer | undefined, valid?: FuzzRequest['valid']) =>
  withToString({ method, url, headers, ...(payload === undefined ? {} : { payload }), ...(valid === undefined ? {} : { valid }) })

/** Anything at all, built from the real routes. */
const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.oneof({ weight: 2, arbitrary: fc.constant<Method>('POST') }, { weight: 3, arbitrary: fc.constantFrom(...METHODS) }),
    path: pathArb,
    query: queryArb,
    contentType: contentTypeArb,
    accept: acceptArb,
    payload: bodyArb,
  })
  .map(({ method, path, query, contentType, accept, payload }) => buildRequest(method, path + query, headersOf(contentType, accept), payload))

/** The parts of a write the contract accepts (202, or 429 for a new id in a full store). */
const validWriteParts = fc
  .record({
    segment: validSegment,
    route: fc.constantFrom(...SUFFIXES),
    query: queryArb,
    contentType: fc.constantFrom(...ACCEPTED_TYPES),
    latency: fc.oneof(
      validNs.map((v) => ({ latency_ns: v })),
      fc.array(validNs, { minLength: 1, maxLength: 30 }).map((vs) => ({ latency_ns: vs })),
      fc.integer({ min: 1, max: 1e9 }).map((base) => ({ latency_ns: Array.from({ length: 10_000 }, (_, i) => base + i) })),
    ),
    jobs: fc.record(
      { event: fc.constantFrom(...EVENTS), count: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom(1, 1_000_000)) },
      { requiredKeys: ['event'] },
    ),
    pretty: fc.boolean(),
  })
  .map(({ segment, route, query, contentType, latency, jobs, pretty }) => ({
    id: segment.id,
    route,
    path: `/metrics/${segment.segment}/${route}`,
    query,
    contentType,
    payload: JSON.stringify(route === 'latency' ? latency : jobs, null, pretty ? 2 : undefined),
  }))

const validWrite: fc.Arbitrary<FuzzRequest> = validWriteParts.map((w) =>
  buildRequest('POST', w.path + w.query, { 'content-type': w.contentType }, w.payload, { id: w.id, route: w.route }),
)

/** A valid write with one or two of its parts replaced by fuzz, so each rejection has a narrow cause. */
const ASPECTS = ['method', 'path', 'contentType', 'body', 'body'] as const
const mutantWrite: fc.Arbitrary<FuzzRequest> = fc
  .record({
    base: validWriteParts,
    mutate: fc.subarray([...ASPECTS], { minLength: 1, maxLength: 2 }),
    method: fc.constantFrom(...METHODS),
    path: pathArb,
    contentType: contentTypeArb,
    body: fc.oneof(latencyBody, jobsBody, bodyArb),
  })
  .map(({ base, mutate, method, path, contentType, body }) => {
    const has = (a: (typeof ASPECTS)[number]) => mutate.includes(a)
    return buildRequest(
      has('method') ? method : 'POST',
      (has('path') ? path : base.path) + base.query,
      headersOf(has('contentType') ? contentType : base.contentType, undefined),
      has('body') ? body : base.payload,
    )
  })

/** Near-miss writes whose body is for the route it goes to: the narrow validation edges. */
const nearMissWrite: fc.Arbitrary<FuzzRequest> = fc
  .record({ base: validWriteParts, latency: latencyBody, jobs: jobsBody })
  .map(({ base, latency, jobs }) =>
    buildRequest('POST', base.path + base.query, { 'content-type': base.contentType }, base.route === 'latency' ? latency : jobs),
  )

/** Reads and deletes, mostly of ids that may exist, with random queries and Accept headers. */
const readOrDelete: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.oneof(
      { weight: 3, arbitrary: fc.constant<Method>('GET') },
      { weight: 2, arbitrary: fc.constant<Method>('DELETE') },
      { weight: 1, arbitrary: fc.constantFrom<Method>('HEAD', 'OPTIONS') },
    ),
    path: fc.oneof(
      { weight: 3, arbitrary: validSegment.map((s) => `/metrics/${s.segment}`) },
      { weight: 2, arbitrary: fc.constant('/metrics') },
      { weight: 1, arbitrary: pathArb },
    ),
    query: queryArb,
    accept: acceptArb,
    body: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(contentTypeArb, bodyArb) }),
  })
  .map(({ method, path, query, accept, body }) => buildRequest(method, path + query, headersOf(body?.[0], accept), body?.[1]))

const requestArb = fc.oneof(
  { weight: 3, arbitrary: fuzzRequest },
  { weight: 3, arbitrary: mutantWrite },
  { weight: 2, arbitrary: nearMissWrite },
  { weight: 2, arbitrary: validWrite },
  { weight: 2, arbitrary: readOrDelete },
)

// ---------------------------------------------------------------- checks

interface Snapshot {
  id: string
  count: number
  total: number
  jobs: Record<string, number>
  [key: string]: unknown
}

async function listMetrics(app: FastifyInstance): Promise<Snapshot[]> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  expect(res.statusCode, res.body).toBe(200)
  return res.json<{ metrics: Snapshot[] }>().metrics
}

const byId = (metrics: Snapshot[]) => new Map(metrics.map((m) => [m.id, m]))

/** What the server sees of a URL after light-my-request's (WHATWG) URL parsing. */
const pathnameOf = (url: string) => new URL(url, 'http://localhost').pathname

/** The JSON we sent, as the server parsed it (it strips a UTF-8 BOM). */
function sentJson(payload: string | Buffer | undefined): Record<string, unknown> {
  const text = payload === undefined ? '' : Buffer.isBuffer(payload) ? payload.toString('utf8') : payload
  return JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>
}

function checkErrorShape(req: FuzzRequest, res: LightMyRequestResponse, ctx: string): void {
  const status = res.statusCode
  if (status < 400 || req.method === 'HEAD') return
  expect(res.headers['content-type'], ctx).toMatch(/^application\/json/)
  let body: unknown
  expect(() => (body = JSON.parse(res.body)), ctx).not.toThrow()
  expect(body, ctx).toMatchObject({ statusCode: status, error: STATUS_CODES[status] })
  const message = (body as { message?: unknown }).message
  expect(typeof message === 'string' && message.length > 0, `${ctx}: message must be a non-empty string`).toBe(true)
}

function checkAcceptedWrite(req: FuzzRequest, res: LightMyRequestResponse, before: Snapshot[], after: Snapshot[], ctx: string): void {
  const m = /^\/metrics\/([^/]*)\/(latency|jobs)$/.exec(pathnameOf(req.url))
  expect(req.method === 'POST' && m !== null, `${ctx}: 202 from something that is not a write`).toBe(true)
  const id = decodeURIComponent(m![1])
  const route = m![2]
  const accepted = res.json<{ accepted: number }>().accepted
  const body = sentJson(req.payload)

  const was = byId(before).get(id)
  const now = byId(after).get(id)
  expect(now, `${ctx}: metric ${JSON.stringify(id)} missing after 202`).toBeDefined()
  if (was === undefined) expect(before.length, `${ctx}: created a metric past MAX_METRICS`).toBeLessThan(MAX_METRICS)
  const prev: Snapshot = was ?? { id, count: 0, total: 0, jobs: { created: 0, started: 0, completed: 0, failed: 0, retried: 0, in_progress: 0 } }

  if (route === 'latency') {
    const ns = body.latency_ns
    const sent = Array.isArray(ns) ? ns.length : 1
    expect(accepted, `${ctx}: accepted`).toBe(sent)
    expect(now!.total - prev.total, `${ctx}: total grew by`).toBe(accepted)
    expect(now!.count, `${ctx}: count (frozen clock, ring of ${MAX_SAMPLES})`).toBe(Math.min(MAX_SAMPLES, prev.count + accepted))
    for (const e of EVENTS) expect(now!.jobs[e], `${ctx}: jobs.${e}`).toBe(prev.jobs[e])
  } else {
    const event = body.event as string
    const count = body.count === undefined ? 1 : (body.count as number)
    expect(accepted, `${ctx}: accepted`).toBe(count)
    expect(now!.jobs[event] - prev.jobs[event], `${ctx}: jobs.${event} grew by`).toBe(accepted)
    for (const e of EVENTS) if (e !== event) expect(now!.jobs[e], `${ctx}: jobs.${e}`).toBe(prev.jobs[e])
    expect([now!.total, now!.count], `${ctx}: total and count`).toEqual([prev.total, prev.count])
  }
  // Nothing else moved.
  expect(
    after.filter((s) => s.id !== id),
    `${ctx}: other metrics`,
  ).toEqual(before.filter((s) => s.id !== id))
}

function checkEffect(req: FuzzRequest, res: LightMyRequestResponse, before: Snapshot[], after: Snapshot[], ctx: string): void {
  const status = res.statusCode
  if (status >= 400) {
    expect(after, `${ctx}: a rejected request changed the store`).toEqual(before)
  } else if (status === 202 && req.method === 'POST') {
    checkAcceptedWrite(req, res, before, after, ctx)
  } else if (status === 204 && req.method === 'DELETE') {
    const path = pathnameOf(req.url)
    if (path === '/metrics') {
      expect(after, ctx).toEqual([])
    } else {
      const m = /^\/metrics\/([^/]*)$/.exec(path)
      expect(m, `${ctx}: 204 from an unexpected DELETE`).not.toBeNull()
      const id = decodeURIComponent(m![1])
      expect(byId(before).has(id), `${ctx}: deleted an id that did not exist`).toBe(true)
      expect(after, ctx).toEqual(before.filter((s) => s.id !== id))
    }
  } else {
    expect(after, `${ctx}: a ${status} to ${req.method} changed the store`).toEqual(before)
  }

  if (req.valid !== undefined) {
    const isNew = !byId(before).has(req.valid.id)
    if (status === 429) {
      expect(isNew && before.length >= MAX_METRICS, `${ctx}: 429 for an existing id or a store with room`).toBe(true)
    } else {
      expect(status, `${ctx}: a valid write was refused`).toBe(202)
      expect(byId(after).has(req.valid.id), `${ctx}: landed on another id`).toBe(true)
    }
  }
}

// ---------------------------------------------------------------- the app under test

async function fuzzApp() {
  const logs: string[] = []
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString())
      callback()
    },
  })
  const frozen = 1_000_000
  const app = await build({ maxMetrics: MAX_METRICS, maxSamples: MAX_SAMPLES, logLevel: 'warn', logStream, now: () => frozen })
  return { app, logs }
}

/** Empties the store and seeds `n` metrics (with samples and job counts), through the API. */
async function reseed(app: FastifyInstance, n: number): Promise<void> {
  const cleared = await app.inject({ method: 'DELETE', url: '/metrics' })
  expect(cleared.statusCode).toBe(204)
  for (let i = 0; i < n; i++) {
    const url = `/metrics/${encodeURIComponent(seedId(i))}`
    const res =
      i % 3 === 2
        ? await postJson(app, `${url}/jobs`, { event: EVENTS[i % EVENTS.length], count: i + 1 })
        : await postJson(app, `${url}/latency`, { latency_ns: Array.from({ length: (i % 7) + 1 }, (_, k) => 1_000 * (i + 1) + k) })
    expect(res.statusCode, res.body).toBe(202)
  }
  expect((await listMetrics(app)).length).toBe(n)
}

async function runSequence(app: FastifyInstance, logs: string[], seeded: number, requests: FuzzRequest[]): Promise<void> {
  await reseed(app, seeded)
  logs.length = 0
  let before = await listMetrics(app)
  for (const req of requests) {
    const res = await app.inject({ method: req.method, url: req.url, headers: req.headers, ...(req.payload === undefined ? {} : { payload: req.payload }) })
    const ctx = `${describeRequest(req)} -> ${res.statusCode} ${clip(res.body)}`
    expect(res.statusCode, `${ctx}: 5xx`).toBeLessThan(500)
    expect(logs, `${ctx}: logged at warn or above`).toEqual([])
    checkErrorShape(req, res, ctx)
    const after = await listMetrics(app)
    checkEffect(req, res, before, after, ctx)
    before = after
  }
}

const seededArb = fc.constantFrom(0, 5, MAX_METRICS - 1, MAX_METRICS)

describe('HTTP fuzzing', () => {
  it(
    'random requests: no 5xx, JSON errors, rejected requests change nothing, accepted writes add exactly what they accepted',
    async () => {
      const { app, logs } = await fuzzApp()
      await fc.assert(
        fc.asyncProperty(seededArb, fc.array(requestArb, { minLength: 1, maxLength: MAX_SEQUENCE }), (seeded, requests) =>
          runSequence(app, logs, seeded, requests),
        ),
        { numRuns: NUM_RUNS, ...SEED },
      )
    },
    FUZZ_TIMEOUT_MS,
  )

  it('an over-long id is a 400 JSON error at any length, not a 414 from the router', async () => {
    const { app } = await fuzzApp()
    for (const length of [129, 2049, 100_000]) {
      for (const route of ['', '/latency', '/jobs']) {
        const req = buildRequest(
          route === '' ? 'GET' : 'POST',
          `/metrics/${'x'.repeat(length)}${route}`,
          { 'content-type': 'application/json' },
          route === '' ? undefined : '{"latency_ns":1}',
        )
        const res = await app.inject({ method: req.method, url: req.url, headers: req.headers, ...(req.payload === undefined ? {} : { payload: req.payload }) })
        const ctx = `${describeRequest(req)} -> ${res.statusCode} ${clip(res.body)}`
        expect(res.statusCode, ctx).toBe(400)
        checkErrorShape(req, res, ctx)
      }
    }
    expect(await listMetrics(app)).toEqual([])
  })

  it(
    'random writes against a full store: 429 for new ids, existing ids keep working',
    async () => {
      const { app, logs } = await fuzzApp()
      const writes = fc.oneof(validWrite, mutantWrite, nearMissWrite)
      await fc.assert(
        fc.asyncProperty(fc.array(writes, { minLength: 1, maxLength: MAX_SEQUENCE }), (requests) => runSequence(app, logs, MAX_METRICS, requests)),
        { numRuns: NUM_RUNS / 2, ...SEED },
      )
    },
    FUZZ_TIMEOUT_MS,
  )
})
