import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, expectError, postJson, postJsonText } from './helper.js'

const MAX_SAFE = 9007199254740991

function postRaw(app: FastifyInstance, id: string, payload: string) {
  return postJsonText(app, `/metrics/${id}/latency`, payload)
}

async function read(app: FastifyInstance, id: string) {
  return app.inject({ method: 'GET', url: `/metrics/${id}` })
}

async function samplesTotal(app: FastifyInstance): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  return res.json().service.samples_total
}

describe('POST /metrics/:id/latency accepts', () => {
  it('a single value: 202 {"accepted":1}, stored in the snapshot', async () => {
    const app = await build()
    const res = await postJson(app, '/metrics/checkout/latency', { latency_ns: 1500 })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({ accepted: 1 })
    const snap = (await read(app, 'checkout')).json()
    expect(snap).toMatchObject({ id: 'checkout', count: 1, total: 1, min_ns: 1500, max_ns: 1500, mean_ns: 1500 })
  })

  it('a batch: 202 {"accepted":k} and every value stored', async () => {
    const app = await build()
    const res = await postJson(app, '/metrics/checkout/latency', { latency_ns: [98000, 1200, 1500] })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({ accepted: 3 })
    const snap = (await read(app, 'checkout')).json()
    expect(snap).toMatchObject({ count: 3, total: 3, min_ns: 1200, max_ns: 98000, p50_ns: 1500 })
  })

  it('a batch of one value', async () => {
    const app = await build()
    const res = await postJson(app, '/metrics/m/latency', { latency_ns: [42] })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({ accepted: 1 })
    expect((await read(app, 'm')).json()).toMatchObject({ count: 1, total: 1, min_ns: 42 })
  })

  it('creates the metric on first use', async () => {
    const app = await build()
    expect((await read(app, 'fresh')).statusCode).toBe(404)
    expect((await postJson(app, '/metrics/fresh/latency', { latency_ns: 7 })).statusCode).toBe(202)
    expect((await read(app, 'fresh')).statusCode).toBe(200)
  })

  it('accumulates across requests (count, total and samples_total)', async () => {
    const app = await build()
    await postJson(app, '/metrics/m/latency', { latency_ns: 5 })
    await postJson(app, '/metrics/m/latency', { latency_ns: [6, 7] })
    await postJson(app, '/metrics/other/latency', { latency_ns: [1, 2, 3, 4] })
    expect((await read(app, 'm')).json()).toMatchObject({ count: 3, total: 3, min_ns: 5, max_ns: 7 })
    expect(await samplesTotal(app)).toBe(7)
  })

  it('the bounds 1 and 2^53-1, exactly', async () => {
    const app = await build()
    const res = await postRaw(app, 'm', `{"latency_ns":[1,${MAX_SAFE}]}`)
    expect(res.statusCode).toBe(202)
    expect((await read(app, 'm')).json()).toMatchObject({ count: 2, min_ns: 1, max_ns: MAX_SAFE })
  })

  it('a batch of exactly 10,000 values', async () => {
    const app = await build()
    const values = Array.from({ length: 10_000 }, (_, i) => i + 1)
    const res = await postJson(app, '/metrics/big/latency', { latency_ns: values })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({ accepted: 10_000 })
    expect((await read(app, 'big')).json()).toMatchObject({ count: 10_000, total: 10_000, min_ns: 1, max_ns: 10_000 })
  })
})

/** Each bad body from the contract, with what its error message must name. */
const BAD_BODIES: { name: string; payload: string; message: RegExp }[] = [
  { name: 'invalid JSON (truncated)', payload: '{"latency_ns": ', message: /JSON/i },
  { name: 'invalid JSON (trailing garbage)', payload: '{"latency_ns": 5} x', message: /JSON/i },
  { name: 'invalid JSON (single quotes)', payload: "{'latency_ns': 5}", message: /JSON/i },
  { name: 'an empty body', payload: '', message: /empty|JSON/i },
  { name: 'the string "123" (no coercion)', payload: '{"latency_ns":"123"}', message: /latency_ns.*integer/ },
  { name: 'a boolean', payload: '{"latency_ns":true}', message: /latency_ns.*integer/ },
  { name: 'an object', payload: '{"latency_ns":{"v":5}}', message: /latency_ns.*integer/ },
  { name: 'null as the value', payload: '{"latency_ns":null}', message: /latency_ns/ },
  { name: 'zero', payload: '{"latency_ns":0}', message: /latency_ns.*>= 1/ },
  { name: 'a negative value', payload: '{"latency_ns":-5}', message: /latency_ns.*>= 1/ },
  { name: 'a fraction (1.5)', payload: '{"latency_ns":1.5}', message: /latency_ns.*integer/ },
  { name: '2^53 (above 2^53-1)', payload: '{"latency_ns":9007199254740992}', message: /latency_ns.*<= 9007199254740991/ },
  { name: '1e300', payload: '{"latency_ns":1e300}', message: /latency_ns.*<= 9007199254740991/ },
  { name: 'an empty array', payload: '{"latency_ns":[]}', message: /latency_ns.*fewer than 1/ },
  {
    name: '10,001 values',
    payload: JSON.stringify({ latency_ns: new Array(10_001).fill(1) }),
    message: /latency_ns.*more than 10000/,
  },
  { name: 'a batch whose last value is 0', payload: '{"latency_ns":[1,2,3,0]}', message: /latency_ns\/3.*>= 1/ },
  { name: 'a batch with a negative value', payload: '{"latency_ns":[-1,2,3]}', message: /latency_ns\/0.*>= 1/ },
  { name: 'a batch with a fraction', payload: '{"latency_ns":[1,2.5]}', message: /latency_ns\/1.*integer/ },
  { name: 'a batch with a string', payload: '{"latency_ns":[1,"2"]}', message: /latency_ns\/1.*integer/ },
  { name: 'a batch with null', payload: '{"latency_ns":[1,null]}', message: /latency_ns\/1/ },
  { name: 'a batch with a value above 2^53-1', payload: '{"latency_ns":[1,9007199254740993]}', message: /latency_ns\/1.*<=/ },
  { name: 'a 10,000-value batch with one bad value', payload: JSON.stringify({ latency_ns: [...new Array(9_999).fill(3), 0] }), message: /latency_ns\/9999/ },
  { name: 'nested arrays', payload: '{"latency_ns":[[1]]}', message: /latency_ns\/0.*integer/ },
  { name: 'a nested array inside a batch', payload: '{"latency_ns":[1,[2,3]]}', message: /latency_ns\/1.*integer/ },
  { name: 'an extra field', payload: '{"latency_ns":5,"unit":"ns"}', message: /additional propert/ },
  { name: 'a missing latency_ns', payload: '{}', message: /latency_ns/ },
  { name: 'a misspelt latency_ns', payload: '{"latency":5}', message: /latency_ns|additional/ },
  { name: 'null as the body', payload: 'null', message: /body must be object/ },
  { name: 'an array as the body', payload: '[5]', message: /body must be object/ },
  { name: 'a number as the body', payload: '5', message: /body must be object/ },
]

describe('POST /metrics/:id/latency rejects with 400 and stores nothing', () => {
  it.each(BAD_BODIES)('$name, for a new id (no metric is created)', async ({ payload, message }) => {
    const app = await build()
    const res = await postRaw(app, 'new-id', payload)
    expect(expectError(res, 400)).toMatch(message)
    expect((await read(app, 'new-id')).statusCode).toBe(404)
    expect(await samplesTotal(app)).toBe(0)
  })

  it.each(BAD_BODIES)('$name, for an existing id (count and total unchanged)', async ({ payload, message }) => {
    const app = await build()
    expect((await postJson(app, '/metrics/m/latency', { latency_ns: [10, 20] })).statusCode).toBe(202)
    const before = (await read(app, 'm')).json()
    const res = await postRaw(app, 'm', payload)
    expect(expectError(res, 400)).toMatch(message)
    const after = (await read(app, 'm')).json()
    expect(after).toEqual(before)
    expect(after).toMatchObject({ count: 2, total: 2 })
    expect(await samplesTotal(app)).toBe(2)
  })
})
