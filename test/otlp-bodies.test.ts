import { gzipSync } from 'node:zlib'
import type { LightMyRequestResponse } from 'fastify'
import fc from 'fast-check'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { SpanBatch } from '../src/otlp/span-batch.js'
import { SPAN_KINDS, SpanKindFilter } from '../src/otlp/span-kinds.js'
import { MetricStore } from '../src/store/metric-store.js'
import { build } from './helper.js'
import {
  PROTOBUF,
  T0,
  decodeProtobufResponse,
  decodeProtobufStatus,
  encodeProtobuf,
  expectedId,
  intAttribute,
  officialTypes,
  postTraces,
  serviceOf,
  snapshotOf,
  span,
  stringAttribute,
  traceRequest,
} from './otlp-helpers.js'

interface Answer {
  partialSuccess?: { rejectedSpans: string | number; errorMessage: string }
}

/** Both encodings: how to send a request and read the answers, each in its own encoding. */
const ENCODINGS = [
  {
    name: 'protobuf',
    type: PROTOBUF,
    encode: encodeProtobuf,
    answer: (res: LightMyRequestResponse): Answer => decodeProtobufResponse(res.rawPayload),
    status: (res: LightMyRequestResponse) => decodeProtobufStatus(res.rawPayload),
  },
  {
    name: 'JSON',
    type: 'application/json',
    encode: (request: unknown) => Buffer.from(JSON.stringify(request)),
    answer: (res: LightMyRequestResponse): Answer => res.json(),
    status: (res: LightMyRequestResponse) => res.json<{ code?: number; message: string }>(),
  },
] as const

function expectAnswer(res: LightMyRequestResponse, type: string): void {
  expect(res.statusCode, res.body).toBe(200)
  expect(res.headers['content-type']).toMatch(new RegExp(`^${type}`))
}

describe.each(ENCODINGS)('POST /v1/traces, $name', ({ type, encode, answer, status }) => {
  it('records one sample per span with its exact duration, id and status', async () => {
    const app = await build()
    const spans = [
      span('POST /orders', 12_500_000, { attributes: [intAttribute('http.response.status_code', 201)] }),
      span('POST /orders', 7_000_001, { attributes: [intAttribute('http.response.status_code', 503)] }, 5n),
      span('db query', 1, { kind: 3 }),
    ]
    const res = await postTraces(app, type, encode(traceRequest([{ service: 'checkout', spans }])))
    expectAnswer(res, type)
    expect(answer(res).partialSuccess).toBeUndefined()
    const orders = await snapshotOf(app, expectedId('checkout', 'POST /orders'))
    expect(orders).toMatchObject({ id: 'checkout:POST__orders', count: 2, min_ns: 7_000_001, max_ns: 12_500_000, statuses: { '201': 1, '503': 1 } })
    expect(await snapshotOf(app, 'checkout:db_query')).toMatchObject({ count: 1, min_ns: 1, statuses: {} })
    expect((await serviceOf(app)).otlp).toEqual({ requests: 1, spans: 3, rejected_spans: 0, skipped_spans: 0 })
  })

  it('computes durations exactly past 2^53 ns times (a double would round them)', async () => {
    const app = await build()
    // 2^62 + 1 and 2^62 + 2 are 1 ns apart; as doubles they are the same number.
    const start = 2n ** 62n + 1n
    const spans = [
      { name: 'a', startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1n) },
      { name: 'b', startTimeUnixNano: String(2n ** 64n - 2n ** 53n), endTimeUnixNano: String(2n ** 64n - 1n) },
    ]
    expectAnswer(await postTraces(app, type, encode(traceRequest([{ service: 's', spans }]))), type)
    expect(await snapshotOf(app, 's:a')).toMatchObject({ count: 1, min_ns: 1 })
    expect(await snapshotOf(app, 's:b')).toMatchObject({ count: 1, min_ns: 2 ** 53 - 1 })
  })

  it('rejects each bad span with a reason and records the others (partial success)', async () => {
    const app = await build()
    const spans = [
      span('ok', 5000),
      { name: 'backwards', startTimeUnixNano: String(T0 + 10n), endTimeUnixNano: String(T0) },
      span('instant', 0),
      { name: 'no times' },
      span('forever', 2n ** 53n),
      span('odd status', 10, { attributes: [intAttribute('http.response.status_code', 1000)] }),
      span('negative status', 10, { attributes: [intAttribute('http.status_code', -1)] }),
      span('ok', 6000, {}, 1n),
    ]
    const res = await postTraces(app, type, encode(traceRequest([{ service: 'svc', spans }])))
    expectAnswer(res, type)
    const partial = answer(res).partialSuccess!
    expect(Number(partial.rejectedSpans)).toBe(6)
    expect(partial.errorMessage).toContain('6 of 8 spans rejected')
    expect(partial.errorMessage).toMatch(/end before start: 1 \(first: "svc:backwards"\)/)
    expect(partial.errorMessage).toMatch(/duration 0 ns \(or no start and end times\): 2 \(first: "svc:instant"\)/)
    expect(partial.errorMessage).toMatch(/duration over 9007199254740991 ns: 1 \(first: "svc:forever"\)/)
    expect(partial.errorMessage).toMatch(/HTTP status attribute outside 0..999: 2 \(first: "svc:odd_status"\)/)
    expect(await snapshotOf(app, 'svc:ok')).toMatchObject({ count: 2, min_ns: 5000, max_ns: 6000 })
    for (const name of ['backwards', 'instant', 'no_times', 'forever', 'odd_status', 'negative_status']) {
      expect(await snapshotOf(app, `svc:${name}`), name).toBeUndefined()
    }
    expect((await serviceOf(app)).otlp).toMatchObject({ spans: 2, rejected_spans: 6 })
  })

  it('rejects the spans of new ids beyond MAX_METRICS, recording those of existing ids', async () => {
    const app = await build({ maxMetrics: 2 })
    const first = [span('a', 10), span('b', 20)]
    expect(answer(await postTraces(app, type, encode(traceRequest([{ service: 's', spans: first }])))).partialSuccess).toBeUndefined()
    const second = [span('a', 11), span('c', 30), span('c', 31), span('d', 40), span('b', 21)]
    const res = await postTraces(app, type, encode(traceRequest([{ service: 's', spans: second }])))
    expectAnswer(res, type)
    const partial = answer(res).partialSuccess!
    expect(Number(partial.rejectedSpans)).toBe(3)
    expect(partial.errorMessage).toMatch(/a new metric id while MAX_METRICS ids exist: 3 \(first: "s:c"\)/)
    expect(await snapshotOf(app, 's:a')).toMatchObject({ count: 2 })
    expect(await snapshotOf(app, 's:b')).toMatchObject({ count: 2 })
    expect(await snapshotOf(app, 's:c')).toBeUndefined()
  })

  it('takes the status from http.response.status_code, else http.status_code, else 500 for ERROR spans', async () => {
    const app = await build()
    const spans = [
      span('op', 1, { attributes: [intAttribute('http.status_code', 404), intAttribute('http.response.status_code', 200)] }),
      span('op', 2, { attributes: [intAttribute('http.status_code', 404)] }),
      span('op', 3, { status: { code: 2, message: 'boom' } }),
      span('op', 4, { status: { code: 2 }, attributes: [intAttribute('http.response.status_code', 429)] }),
      span('op', 5, { status: { code: 1 } }),
      // Only integer attributes count.
      span('op', 6, { attributes: [stringAttribute('http.response.status_code', '200')] }),
      span('op', 7, { attributes: [intAttribute('http.response.status_code', 0)] }),
    ]
    expectAnswer(await postTraces(app, type, encode(traceRequest([{ service: 's', spans }]))), type)
    const snapshot = await snapshotOf(app, 's:op')
    expect(snapshot).toMatchObject({ count: 7, statuses: { '0': 1, '200': 1, '404': 1, '429': 1, '500': 1 } })
    // errors: status 0 or >= 500, over the 5 samples that have a status.
    expect(snapshot.errors).toBe(2)
    expect(snapshot.error_rate).toBe(2 / 5)
  })

  it('names ids <service.name>:<span name>, unknown_service without one, other characters as _, cut at 128', async () => {
    const app = await build()
    const long = 'x'.repeat(200)
    const resources = [
      { service: 'shop', spans: [span('GET /api/items/{id}', 1), span('ünïcödé 🚀', 2), span(long, 3), span('', 4)] },
      { spans: [span('orphan', 5)] },
      { service: '', spans: [span('empty service', 6)] },
    ]
    expectAnswer(await postTraces(app, type, encode(traceRequest(resources))), type)
    const ids = (await app.inject({ method: 'GET', url: '/metrics' })).json().metrics.map((m: { id: string }) => m.id)
    const expected = [
      expectedId('shop', 'GET /api/items/{id}'),
      expectedId('shop', 'ünïcödé 🚀'),
      expectedId('shop', long),
      expectedId('shop', ''),
      expectedId('unknown_service', 'orphan'),
      expectedId('unknown_service', 'empty service'),
    ]
    expect(ids.sort()).toEqual(expected.sort())
    expect(expectedId('shop', long)).toHaveLength(128)
    expect(expected).toContain('shop:_n_c_d___')
  })

  it('an empty request is a full success', async () => {
    const app = await build()
    for (const request of [{}, { resourceSpans: [] }, { resourceSpans: [{ scopeSpans: [{ spans: [] }] }] }]) {
      const res = await postTraces(app, type, encode(request as never))
      expectAnswer(res, type)
      expect(answer(res)).toEqual({})
    }
    expect((await serviceOf(app)).otlp).toMatchObject({ requests: 3, spans: 0 })
  })

  it('records spans of the kinds OTLP_SPAN_KINDS names and skips (does not reject) the others', async () => {
    const app = await build({ otlpSpanKinds: ['server', 'consumer'] })
    const spans = [1, 2, 3, 4, 5, 0, 9].map((kind) => span(`k${kind}`, 10, { kind }))
    const res = await postTraces(app, type, encode(traceRequest([{ service: 's', spans }])))
    expectAnswer(res, type)
    expect(answer(res).partialSuccess).toBeUndefined()
    const ids = (await app.inject({ method: 'GET', url: '/metrics' })).json().metrics.map((m: { id: string }) => m.id)
    expect(ids).toEqual(['s:k2', 's:k5'])
    expect((await serviceOf(app)).otlp).toEqual({ requests: 1, spans: 2, rejected_spans: 0, skipped_spans: 5 })
  })

  it('takes gzip bodies', async () => {
    const app = await build()
    const body = gzipSync(encode(traceRequest([{ service: 's', spans: [span('zipped', 42)] }])))
    expectAnswer(await postTraces(app, type, body, { 'content-encoding': 'gzip' }), type)
    expect(await snapshotOf(app, 's:zipped')).toMatchObject({ count: 1, min_ns: 42 })
  })

  it('a gzip bomb is 413 and stores nothing; so is a body past either limit', async () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024))
    // Compressing stalls the event loop on a busy machine: no overload 503 in this test.
    const app = await build({ otlpMaxBodyBytes: 64 * 1024, otlpMaxCompressedBytes: 16 * 1024, maxEventLoopDelayMs: 0 })
    expect(bomb.length).toBeLessThan(16 * 1024)
    const res = await postTraces(app, type, bomb, { 'content-encoding': 'gzip' })
    expect(res.statusCode).toBe(413)
    expect(status(res).message).toMatch(/too large/i)
    // Past OTLP_MAX_BODY_BYTES uncompressed, and past OTLP_MAX_COMPRESSED_BYTES as sent.
    const big = encode(traceRequest([{ service: 's', spans: Array.from({ length: 2000 }, (_, i) => span(`op${i}`, i + 1)) }]))
    expect(big.length).toBeGreaterThan(64 * 1024)
    expect((await postTraces(app, type, big)).statusCode).toBe(413)
    const incompressible = gzipSync(Buffer.from(Array.from({ length: 40_000 }, () => Math.floor(Math.random() * 256))))
    expect(incompressible.length).toBeGreaterThan(16 * 1024)
    expect((await postTraces(app, type, incompressible, { 'content-encoding': 'gzip' })).statusCode).toBe(413)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json().metrics).toEqual([])
  })

  it('a body that says gzip but is not is 400; another Content-Encoding is 415', async () => {
    const app = await build()
    const body = encode(traceRequest([{ service: 's', spans: [span('op', 1)] }]))
    const notGzip = await postTraces(app, type, body, { 'content-encoding': 'gzip' })
    expect(notGzip.statusCode).toBe(400)
    expect(status(notGzip).message).toMatch(/not valid gzip/)
    expect((await postTraces(app, type, body, { 'content-encoding': 'br' })).statusCode).toBe(415)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json().metrics).toEqual([])
  })

  it('errors are a google.rpc.Status in the encoding of the request', async () => {
    const app = await build()
    const res = await postTraces(app, type, Buffer.from([0x0a, 0x05, 0x0a]))
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(new RegExp(`^${type}`))
    const body = status(res)
    expect(body.code).toBe(3)
    expect(body.message).toMatch(/^body is not a valid OTLP (protobuf|JSON) ExportTraceServiceRequest: /)
  })

  it('needs the write token when AUTH_TOKEN is set', async () => {
    const app = await build({ authToken: 'write-secret', readToken: 'read-secret' })
    const body = encode(traceRequest([{ service: 's', spans: [span('op', 1)] }]))
    const missing = await postTraces(app, type, body)
    expect(missing.statusCode).toBe(401)
    expect(status(missing).code).toBe(16)
    expect((await postTraces(app, type, body, { authorization: 'Bearer read-secret' })).statusCode).toBe(403)
    expectAnswer(await postTraces(app, type, body, { authorization: 'Bearer write-secret' }), type)
    expect((await app.inject({ method: 'GET', url: '/metrics/s:op', headers: { authorization: 'Bearer read-secret' } })).json().count).toBe(1)
  })
})

describe('POST /v1/traces, JSON mapping details', () => {
  it('takes 64-bit integers as strings or numbers, exactly, and unknown fields anywhere', async () => {
    const app = await build()
    // Number literals past 2^53: JSON.parse would round them, so the service must not use its result.
    const text = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"n"}}],"droppedAttributesCount":0,"future":{"x":[1,2]}},
      "scopeSpans":[{"scope":{"name":"s"},"schemaUrl":"u","spans":[
        {"name":"numbers","kind":2,"startTimeUnixNano":1764460800000000001,"endTimeUnixNano":1764460800000000004,"attributes":[{"key":"http.response.status_code","value":{"intValue":200}}],"somethingNew":true},
        {"name":"strings","kind":"2","startTimeUnixNano":"1764460800000000001","endTimeUnixNano":"1764460800000000006","status":{"code":"2"}},
        {"name":"small","startTimeUnixNano":1000,"endTimeUnixNano":1500,"events":[{"timeUnixNano":"1","name":"e"}],"links":[]}
      ]}],"unknownTop":null}],"extra":"ignored"}`
    const res = await postTraces(app, 'application/json', text)
    expectAnswer(res, 'application/json')
    expect(res.json()).toEqual({})
    expect(await snapshotOf(app, 'n:numbers')).toMatchObject({ min_ns: 3, statuses: { '200': 1 } })
    expect(await snapshotOf(app, 'n:strings')).toMatchObject({ min_ns: 5, statuses: { '500': 1 } })
    expect(await snapshotOf(app, 'n:small')).toMatchObject({ min_ns: 500 })
  })

  it.each([
    ['not JSON', '{"resourceSpans": [', /JSON/],
    ['not an object', '[1,2]', /must be a JSON object/],
    ['resourceSpans not an array', '{"resourceSpans": {}}', /resourceSpans must be an array/],
    ['a span not an object', '{"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]}', /resourceSpans\[1\]\.scopeSpans\[0\]\.spans\[0\] must be an object/],
    [
      'a time that is not an integer',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"12x"}]}]}]}',
      /spans\[0\]\.startTimeUnixNano must be an unsigned 64-bit integer/,
    ],
    ['a negative time', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":-5}]}]}]}', /endTimeUnixNano must be an unsigned/],
    ['a time past 2^64', `{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":"${2n ** 64n}"}]}]}]}`, /endTimeUnixNano must be an unsigned/],
    ['a huge time as an exponent', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":1.7e18}]}]}]}', /must be written as integer digits/],
    [
      'a time past 2^64 as a number',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":123456789012345678901}]}]}]}',
      /endTimeUnixNano must be an unsigned/,
    ],
    [
      // A time past 2^53 makes the exact second pass read the whole body, and that parser recurses per level.
      'a body nested too deeply for the exact pass',
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":1764460800000000001,"endTimeUnixNano":1764460800000000002}]}],"deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}]}`,
      /nests too deeply/,
    ],
    ['a kind that is a name', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SERVER"}]}]}]}', /kind must be a 32-bit integer/],
    ['a name that is a number', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]}', /name must be a string/],
    [
      'an attribute key that is not a string',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":1}]}]}]}]}',
      /attributes\[0\]\.key must be a string/,
    ],
    [
      'a status intValue that is not an integer',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"http.status_code","value":{"intValue":"2x"}}]}]}]}]}',
      /intValue must be a 64-bit integer/,
    ],
    [
      'a service.name that is not a string',
      '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":7}}]}}]}',
      /resource\.attributes\[0\]\.value\.stringValue must be a string/,
    ],
  ])('%s is 400 naming the field, and stores nothing', async (_what, text, message) => {
    const app = await build()
    // One good span first: a body refused half-way stores nothing.
    const good = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"good","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}'
    const res = await postTraces(app, 'application/json', text.startsWith('{"resourceSpans":[{') ? `${good},${text.slice('{"resourceSpans":['.length)}` : text)
    expect(res.statusCode, res.body).toBe(400)
    expect(res.json().message).toMatch(message)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json().metrics).toEqual([])
  })

  it('times just below 2^64 written as numbers are exact, though JSON.parse rounds them up to 2^64', async () => {
    const app = await build()
    const spanWith = (name: string, start: bigint, end: bigint) => `{"name":"${name}","startTimeUnixNano":${start},"endTimeUnixNano":${end}}`
    const top = 2n ** 64n - 1n
    const text = `{"resourceSpans":[{"scopeSpans":[{"spans":[${spanWith('a', 2n ** 64n - 1024n, top)},${spanWith('b', 2n ** 64n - 2048n, 2n ** 64n - 1024n)}]}]}]}`
    const res = await postTraces(app, 'application/json', text)
    expect(res.statusCode, res.body).toBe(200)
    expect(await snapshotOf(app, 'unknown_service:a')).toMatchObject({ min_ns: 1023 })
    expect(await snapshotOf(app, 'unknown_service:b')).toMatchObject({ min_ns: 1024 })
    const past = await postTraces(app, 'application/json', `{"resourceSpans":[{"scopeSpans":[{"spans":[${spanWith('c', 1n, 2n ** 64n)}]}]}]}`)
    expect(past.statusCode).toBe(400)
    expect(past.json().message).toMatch(/endTimeUnixNano must be an unsigned/)
  })

  it('a long integer in a field it does not read changes nothing, also in the exact pass', async () => {
    const app = await build()
    const text = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x","startTimeUnixNano":1764460800000000001,"endTimeUnixNano":1764460800000000004}]}]}],"unread":${'9'.repeat(1_000)}}`
    const res = await postTraces(app, 'application/json', text)
    expect(res.statusCode, res.body).toBe(200)
    expect(await snapshotOf(app, 'unknown_service:x')).toMatchObject({ count: 1, min_ns: 3 })
  })

  it('an empty JSON body is 400 (it is not JSON); an empty protobuf body is an empty request', async () => {
    const app = await build()
    expect((await postTraces(app, 'application/json', '')).statusCode).toBe(400)
    const res = await postTraces(app, PROTOBUF, Buffer.alloc(0))
    expect(res.statusCode).toBe(200)
    expect(res.rawPayload.length).toBe(0)
  })
})

describe('POST /v1/traces, protobuf details', () => {
  it('skips fields it does not know (a newer schema) and fields it does not read', async () => {
    const app = await build()
    const { root, request } = officialTypes()
    root.lookupType('opentelemetry.proto.trace.v1.Span').add(new protobuf.Field('futureField', 99, 'string'))
    root.lookupType('opentelemetry.proto.trace.v1.ResourceSpans').add(new protobuf.Field('futureList', 98, 'uint64', 'repeated'))
    const message = traceRequest([{ service: 'p', spans: [span('op', 77, { futureField: 'hello', events: [{ name: 'e', timeUnixNano: '5' }] })] }])
    ;(message.resourceSpans[0] as Record<string, unknown>).futureList = [1, 2, 3]
    const withIds = JSON.parse(JSON.stringify(message), (key, value) => (key === 'traceId' || key === 'spanId' ? Buffer.from(value, 'hex') : value))
    const body = Buffer.from(request.encode(request.fromObject(withIds)).finish())
    const res = await postTraces(app, PROTOBUF, body)
    expect(res.statusCode).toBe(200)
    expect(await snapshotOf(app, 'p:op')).toMatchObject({ count: 1, min_ns: 77 })
  })

  it('every truncation of a valid body is 400 or a request holding fewer spans, never a sample it did not carry', async () => {
    const app = await build()
    const body = encodeProtobuf(
      traceRequest([{ service: 't', spans: [span('a', 100), span('b', 200, { attributes: [intAttribute('http.response.status_code', 200)] })] }]),
    )
    for (let length = 1; length < body.length; length++) {
      const res = await postTraces(app, PROTOBUF, body.subarray(0, length))
      expect([200, 400], `length ${length}`).toContain(res.statusCode)
      if (res.statusCode === 400) expect(decodeProtobufStatus(res.rawPayload).message).toMatch(/^body is not a valid OTLP protobuf/)
    }
    // Whatever was recorded is one of the two spans with its own duration.
    for (const m of (await app.inject({ method: 'GET', url: '/metrics' })).json().metrics) {
      expect(['t:a', 't:b', 'unknown_service:a', 'unknown_service:b']).toContain(m.id)
    }
  })
})

describe('POST /v1/traces, content types', () => {
  it.each(['text/plain', 'application/protobuf', 'application/x-www-form-urlencoded', 'application/grpc'])(
    '%s is 415 naming the two it takes',
    async (contentType) => {
      const app = await build()
      const res = await postTraces(app, contentType, '{}')
      expect(res.statusCode).toBe(415)
      expect(res.json()).toEqual({
        code: 3,
        message: `content-type "${contentType}" is not supported: send OTLP as application/x-protobuf or application/json`,
      })
    },
  )

  it('takes media type parameters and any case', async () => {
    const app = await build()
    expect((await postTraces(app, 'application/json; charset=utf-8', '{}')).statusCode).toBe(200)
    const res = await postTraces(app, 'Application/X-Protobuf', Buffer.alloc(0))
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(PROTOBUF)
  })

  it('a POST without a Content-Type is 415', async () => {
    const app = await build()
    const res = await app.inject({ method: 'POST', url: '/v1/traces' })
    expect(res.statusCode).toBe(415)
    expect(res.json().message).toMatch(/send OTLP as application\/x-protobuf or application\/json/)
  })
})

describe('POST /v1/traces in GET /metrics', () => {
  it('service.otlp and the Prometheus counters agree', async () => {
    const app = await build({ otlpSpanKinds: ['server'] })
    const spans = [span('a', 1), span('a', 0), span('c', 1, { kind: 3 })]
    await postTraces(app, PROTOBUF, encodeProtobuf(traceRequest([{ service: 's', spans }])))
    expect((await serviceOf(app)).otlp).toEqual({ requests: 1, spans: 1, rejected_spans: 1, skipped_spans: 1 })
    const text = (await app.inject({ method: 'GET', url: '/metrics?format=prometheus' })).body
    expect(text).toContain('\nlatency_tracker_otlp_requests_total 1\n')
    expect(text).toContain('\nlatency_tracker_otlp_spans_total{result="recorded"} 1\n')
    expect(text).toContain('\nlatency_tracker_otlp_spans_total{result="rejected"} 1\n')
    expect(text).toContain('\nlatency_tracker_otlp_spans_total{result="skipped"} 1\n')
  })
})

describe('POST /v1/traces under overload', () => {
  it('answers 503 with Retry-After and a google.rpc.Status while the event loop is saturated (exporters retry it)', async () => {
    const app = await build({ maxEventLoopDelayMs: 20 })
    const body = encodeProtobuf(traceRequest([{ service: 's', spans: [span('op', 1)] }]))
    let res
    // under-pressure samples the loop delay every 250 ms; block until a sample sees it (bounded).
    for (let i = 0; i < 25; i++) {
      const end = performance.now() + 200
      while (performance.now() < end) {
        // busy, as a saturated service would be
      }
      await new Promise<void>((resolve) => setImmediate(resolve))
      res = await postTraces(app, PROTOBUF, body)
      if (res.statusCode === 503) break
    }
    if (res === undefined) throw new Error('the loop above ran at least once')
    expect(res.statusCode).toBe(503)
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    expect(res.headers['content-type']).toBe(PROTOBUF)
    expect(decodeProtobufStatus(res.rawPayload)).toMatchObject({ code: 14 })
  })
})

describe('metric ids of spans, whatever the length of the names', () => {
  const nameChar = fc.oneof(fc.constantFrom('a', 'Z', '9', '.', ':', '-', '_', ' ', '/', 'é', '🚀', '\uD800'), fc.string({ minLength: 1, maxLength: 1 }))
  const name = fc.oneof(fc.string({ unit: nameChar, maxLength: 40 }), fc.string({ unit: nameChar, minLength: 120, maxLength: 400 }))

  it('are <service.name>:<span name> as the reference cleans and cuts them, for long and astral names', () => {
    fc.assert(
      fc.property(name, fc.array(name, { minLength: 1, maxLength: 6 }), (service, spanNames) => {
        const store = new MetricStore({ maxMetrics: 100, maxSamples: 100, windowMs: 60_000 })
        const batch = new SpanBatch(new SpanKindFilter(SPAN_KINDS))
        batch.startResource(service)
        for (const spanName of spanNames) batch.addSpan(spanName, 2, 1_000, Number.NaN, 0)
        expect(batch.record(store).recorded).toBe(spanNames.length)
        const ids = store.sorted().map((m) => m.id)
        expect(ids).toEqual([...new Set(spanNames.map((n) => expectedId(service === '' ? 'unknown_service' : service, n)))].sort())
      }),
      { numRuns: 500 },
    )
  })
})
