import { Ajv } from 'ajv'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { BatchScanner, ScannedBody, isScannedBody } from '../src/http/batch-body.js'
import { MAX_BATCH } from '../src/store/ingest.js'
import { LatencyBody } from '../src/http/schemas/latency.js'
import { build, expectError, postJsonText } from './helper.js'

// The reference: what the ordinary path makes of a body (JSON.parse, then the body schema
// with the app's Ajv options).
const scanner = new BatchScanner()
const scanLatencyBatch = (body: Buffer) => scanner.scan(body)
const validateBody = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: true }).compile(LatencyBody)

interface Batch {
  /** One value, or a batch. */
  values: number | number[]
  status?: number | number[]
}

function ordinaryPath(text: string): ({ ok: true } & Batch) | { ok: false } {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { ok: false }
  }
  if (!validateBody(parsed)) return { ok: false }
  const { latency_ns: latency, status } = parsed as { latency_ns: number | number[]; status?: number | number[] }
  return status === undefined ? { ok: true, values: latency } : { ok: true, values: latency, status }
}

/** What the scanner read, as plain arrays; undefined when it declined. */
function scanned(text: string): Batch | undefined {
  const body = scanLatencyBatch(Buffer.from(text, 'utf8'))
  if (body === undefined) return undefined
  const values = typeof body.latency_ns === 'number' ? body.latency_ns : Array.from(body.latency_ns)
  if (body.status === undefined) return { values }
  return { values, status: typeof body.status === 'number' ? body.status : Array.from(body.status) }
}

function scan(text: string): number | number[] | undefined {
  return scanned(text)?.values
}

const WHITESPACE = [' ', '\t', '\n', '\r']
const ws = fc.array(fc.constantFrom(...WHITESPACE), { maxLength: 3 }).map((s) => s.join(''))
/** Values the scanner takes: 1 to 15 digits, no leading zero. */
const scannable = fc.integer({ min: 1, max: 999_999_999_999_999 })

/** Statuses as JSON writes them: 0..999. */
const statusValue = fc.integer({ min: 0, max: 999 })
/** Statuses as traffic has them: mostly runs of a few (the scanner reads a repeated one as a word). */
const statusInRuns = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(200, 204, 503, 0) }, { weight: 1, arbitrary: statusValue })
/** No status, one for every value, or an array (of any length: whether it matches is the domain's check). */
const statusPart = fc.option(fc.oneof(statusValue, fc.array(statusInRuns, { minLength: 1, maxLength: 60 })), { nil: undefined })

/** A batch body as a client might write it: the canonical shape with JSON whitespace between tokens, and maybe a status. */
const manyText = fc
  .tuple(fc.array(scannable, { minLength: 1, maxLength: 60 }), fc.array(ws, { minLength: 12, maxLength: 12 }), fc.array(ws, { maxLength: 60 }), statusPart)
  .map(([values, [a, b, c, d, e, f, g, h, i, j, k, l], gaps, status]) => {
    const items = values.map((v, n) => `${v}${gaps[n] ?? ''}`).join(`,${b}`)
    const statusText = status === undefined ? '' : `,${i}"status"${j}:${k}${typeof status === 'number' ? status : `[${l}${status.join(`${l},${l}`)}${l}]`}${g}`
    const batch: Batch = status === undefined ? { values } : { values, status }
    return { batch, text: `${a}{${c}"latency_ns"${d}:${e}[${f}${items}]${g}${statusText}}${h}` }
  })

/** A single-value body, with JSON whitespace between tokens and maybe one status. */
const singleText = fc
  .tuple(scannable, fc.array(ws, { minLength: 10, maxLength: 10 }), fc.option(statusValue, { nil: undefined }))
  .map(([value, [a, c, d, e, g, h, i, j, k, l], status]) => {
    const statusText = status === undefined ? '' : `,${i}"status"${j}:${k}${status}${l}`
    const batch: Batch = status === undefined ? { values: value } : { values: value, status }
    return { batch, text: `${a}{${c}"latency_ns"${d}:${e}${value}${g}${statusText}}${h}` }
  })

const batchText = fc.oneof(manyText, singleText)

describe('the latency body scanner', () => {
  it('reads the canonical bodies (one value or a batch) and bodies with JSON whitespace between tokens, value for value (property)', () => {
    fc.assert(
      fc.property(batchText, ({ batch, text }) => {
        expect(scanned(text)).toEqual(batch)
        expect(ordinaryPath(text)).toEqual({ ok: true, ...batch })
      }),
      { numRuns: 300 },
    )
  })

  it('whenever it accepts a body, JSON.parse and the schema accept it with the same values (property)', () => {
    // Mutations of valid bodies: bytes replaced, inserted and deleted, biased towards JSON's own characters.
    const jsonChar = fc.constantFrom(...'0123456789-+.eE,[]{}": \t\n\rlatency_nsx\\u'.split(''))
    const edit = fc.record({ at: fc.nat(), op: fc.constantFrom('replace', 'insert', 'delete'), char: jsonChar })
    fc.assert(
      fc.property(batchText, fc.array(edit, { minLength: 1, maxLength: 4 }), ({ text }, edits) => {
        let mutated = text
        for (const { at, op, char } of edits) {
          const i = at % (mutated.length + 1)
          if (op === 'replace') mutated = mutated.slice(0, i) + char + mutated.slice(i + 1)
          else if (op === 'insert') mutated = mutated.slice(0, i) + char + mutated.slice(i)
          else mutated = mutated.slice(0, i) + mutated.slice(i + 1)
        }
        const got = scanned(mutated)
        if (got !== undefined) expect(ordinaryPath(mutated)).toEqual({ ok: true, ...got })
      }),
      { numRuns: 2_000 },
    )
  })

  it.each([
    ['a single zero', '{"latency_ns":0}'],
    ['a single negative value', '{"latency_ns":-5}'],
    ['a single fraction', '{"latency_ns":1.5}'],
    ['a single exponent', '{"latency_ns":1e3}'],
    ['a single value of 16 digits', '{"latency_ns":1000000000000000}'],
    ['a single string', '{"latency_ns":"5"}'],
    ['a single null', '{"latency_ns":null}'],
    ['a status array beside a single value', '{"latency_ns":1500,"status":[200]}'],
    ['an empty batch', '{"latency_ns":[]}'],
    ['zero', '{"latency_ns":[0]}'],
    ['a leading zero', '{"latency_ns":[012]}'],
    ['a sign', '{"latency_ns":[-5]}'],
    ['a plus sign', '{"latency_ns":[+5]}'],
    ['a fraction', '{"latency_ns":[1.5]}'],
    ['a zero fraction', '{"latency_ns":[2.0]}'],
    ['an exponent', '{"latency_ns":[1e3]}'],
    ['16 digits', '{"latency_ns":[1000000000000000]}'],
    ['a string', '{"latency_ns":["5"]}'],
    ['a trailing comma', '{"latency_ns":[1,]}'],
    ['a missing comma', '{"latency_ns":[1 2]}'],
    ['another key', '{"latency":[1]}'],
    ['a second key', '{"latency_ns":[1],"x":1}'],
    ['the key twice', '{"latency_ns":[1],"latency_ns":[2]}'],
    ['an escape in the key', '{"latency\\u005fns":[1]}'],
    ['a byte-order mark', '\ufeff{"latency_ns":[1]}'],
    ['trailing text', '{"latency_ns":[1]}x'],
    ['a truncated body', '{"latency_ns":[1,2'],
    ['no closing brace', '{"latency_ns":[1]'],
    ['a nested array', '{"latency_ns":[[1]]}'],
    ['an empty body', ''],
    ['status before latency_ns', '{"status":200,"latency_ns":[1]}'],
    ['a status of 1000', '{"latency_ns":[1],"status":1000}'],
    ['a status with a leading zero', '{"latency_ns":[1],"status":[0200]}'],
    ['a negative status', '{"latency_ns":[1],"status":-1}'],
    ['a fractional status', '{"latency_ns":[1],"status":200.0}'],
    ['a status exponent', '{"latency_ns":[1],"status":2e2}'],
    ['a null status', '{"latency_ns":[1],"status":null}'],
    ['a string status', '{"latency_ns":[1],"status":"200"}'],
    ['an empty status array', '{"latency_ns":[1],"status":[]}'],
    ['a trailing comma in statuses', '{"latency_ns":[1],"status":[200,]}'],
    ['a key after status', '{"latency_ns":[1],"status":200,"x":1}'],
    ['a status of 1000 in an array', '{"latency_ns":[1,2],"status":[200,1000]}'],
    ['a fractional status in an array', '{"latency_ns":[1,2],"status":[200,200.5]}'],
    ['a status exponent in an array', '{"latency_ns":[1],"status":[2e2]}'],
    ['a negative status in an array', '{"latency_ns":[1],"status":[-200]}'],
    ['a truncated status array', '{"latency_ns":[1,2],"status":[200,20'],
    ['a status of 2000 after a run of 200', '{"latency_ns":[1,2,3],"status":[200,200,2000]}'],
    ['a fractional status after a run', '{"latency_ns":[1,2,3],"status":[200,200,200.5]}'],
    ['a trailing comma after a run', '{"latency_ns":[1,2],"status":[200,200,]}'],
    ['a truncated run', '{"latency_ns":[1,2],"status":[200,200,'],
  ])('declines %s, leaving it to JSON.parse and the schema', (_, text) => {
    expect(scan(text)).toBeUndefined()
  })

  it('reads runs of a status, broken by others, by whitespace and by the end of the array', () => {
    const values = Array.from({ length: 9 }, (_, i) => i + 1)
    expect(scanned(`{"latency_ns":[${values.join(',')}],"status":[200,200,200,404,200,200, 200,200,0]}`)).toEqual({
      values,
      status: [200, 200, 200, 404, 200, 200, 200, 200, 0],
    })
    expect(scanned(`{"latency_ns":[1,2,3,4],"status":[503,503,503,503]}`)).toEqual({ values: [1, 2, 3, 4], status: [503, 503, 503, 503] })
    expect(scanned(`{"latency_ns":[1,2,3],"status":[200,200 ,200]}`)).toEqual({ values: [1, 2, 3], status: [200, 200, 200] })
  })

  it('reads a status read within a word exactly as JSON.parse does, whatever byte stands in any of its four places', () => {
    // Statuses 2-5 are read in pairs of words; every byte value in each of their places.
    const prefix = Buffer.from('{"latency_ns":[1,2,3,4,5,6],"status":[200,')
    const statuses = Buffer.from('404,503,500,299,200,0]}')
    for (let place = 0; place < 16; place++) {
      for (let byte = 0; byte < 256; byte++) {
        const body = Buffer.concat([prefix, statuses])
        body[prefix.length + place] = byte
        const got = scanLatencyBatch(body)
        const text = body.toString('latin1')
        // A byte above 0x7f is no ASCII digit, comma or whitespace: decoded or not, JSON cannot take it there.
        const expected = byte > 0x7f ? { ok: false } : ordinaryPath(text)
        if (got === undefined) continue // declined: the ordinary path answers
        expect(expected).toEqual({ ok: true, values: Array.from(got.latency_ns as Float64Array), status: Array.from(got.status as Uint16Array) })
        scanner.release(got)
      }
    }
    // And it does read them: unchanged, and with a digit changed in each place.
    expect(scanned('{"latency_ns":[1,2,3,4,5,6],"status":[200,404,503,500,299,200,0]}')?.status).toEqual([200, 404, 503, 500, 299, 200, 0])
    expect(scanned('{"latency_ns":[1,2,3,4,5,6],"status":[200,999,100,109,990,200,0]}')?.status).toEqual([200, 999, 100, 109, 990, 200, 0])
  })

  it('takes up to MAX_BATCH values and declines one more', () => {
    const values = Array.from({ length: MAX_BATCH }, (_, i) => i + 1)
    expect(scan(JSON.stringify({ latency_ns: values }))).toEqual(values)
    expect(scan(JSON.stringify({ latency_ns: [...values, 1] }))).toBeUndefined()
  })

  it('takes up to MAX_BATCH statuses, read two at a time or one by one, and declines one more', () => {
    for (const length of [MAX_BATCH - 1, MAX_BATCH]) {
      const values = Array.from({ length }, (_, i) => i + 1)
      // Three-digit runs (read in pairs), broken by shorter statuses and whitespace (read one by one).
      const status = values.map((v) => (v % 97 === 0 ? 0 : v % 89 === 0 ? 42 : 200 + (v % 3) * 100))
      expect(scanned(JSON.stringify({ latency_ns: values, status }))).toEqual({ values, status })
      expect(scanned(JSON.stringify({ latency_ns: values, status }).replaceAll(',3', ', 3'))).toEqual({ values, status })
      const same = values.map(() => 503)
      expect(scanned(JSON.stringify({ latency_ns: values, status: same }))).toEqual({ values, status: same })
    }
    // Whether the lengths match is the domain's check; past MAX_BATCH the scanner declines.
    expect(scanned(JSON.stringify({ latency_ns: [1], status: Array.from({ length: MAX_BATCH }, () => 200) }))?.status).toHaveLength(MAX_BATCH)
    const full = Array.from({ length: MAX_BATCH }, () => 200)
    // One more at the end, or two (one read alone first, so that pairs reach the limit at an odd count).
    for (const status of [
      [...full, 200],
      [...full, 0],
      [0, ...full, 200],
      [42, ...full, 200],
    ]) {
      expect(scanned(JSON.stringify({ latency_ns: [1], status }))).toBeUndefined()
    }
  })

  it('reads 15-digit values exactly; a body not yet released keeps its values when the next one is scanned', () => {
    const a = scanLatencyBatch(Buffer.from('{"latency_ns":[999999999999999,1],"status":[200,503]}'))
    const b = scanLatencyBatch(Buffer.from('{"latency_ns":[7],"status":[404]}'))
    expect(Array.from(a!.latency_ns as Float64Array)).toEqual([999_999_999_999_999, 1])
    expect(Array.from(a!.status as Uint16Array)).toEqual([200, 503])
    expect(Array.from(b!.latency_ns as Float64Array)).toEqual([7])
    expect(Array.from(b!.status as Uint16Array)).toEqual([404])
    expect(scanLatencyBatch(Buffer.from('{"latency_ns":999999999999999}'))?.latency_ns).toBe(999_999_999_999_999)
    scanner.release(b)
  })

  it("lends its scratch: the next batch reuses a released body's memory, with no copy", () => {
    const own = new BatchScanner()
    const first = own.scan(Buffer.from('{"latency_ns":[5,6],"status":[200,200]}'))!
    own.release(first)
    const second = own.scan(Buffer.from('{"latency_ns":[8,9,10],"status":[500,0,404]}'))!
    expect((second.latency_ns as Float64Array).buffer).toBe((first.latency_ns as Float64Array).buffer)
    expect((second.status as Uint16Array).buffer).toBe((first.status as Uint16Array).buffer)
    expect(Array.from(second.latency_ns as Float64Array)).toEqual([8, 9, 10])
    expect(Array.from(second.status as Uint16Array)).toEqual([500, 0, 404])
    // Not released: the next scan gives it arrays of its own before reusing the scratch.
    const third = own.scan(Buffer.from('{"latency_ns":[1]}'))!
    expect((second.latency_ns as Float64Array).buffer).not.toBe((third.latency_ns as Float64Array).buffer)
    expect(Array.from(second.latency_ns as Float64Array)).toEqual([8, 9, 10])
    expect(Array.from(second.status as Uint16Array)).toEqual([500, 0, 404])
    // Releasing a body that no longer holds the scratch, or anything else, changes nothing.
    own.release(second)
    own.release({ latency_ns: [1] })
    const fourth = own.scan(Buffer.from('{"latency_ns":[2]}'))!
    expect(Array.from(third.latency_ns as Float64Array)).toEqual([1])
    expect(Array.from(fourth.latency_ns as Float64Array)).toEqual([2])
  })

  it('marks what it read so that only its own bodies skip the schema', () => {
    expect(isScannedBody(scanLatencyBatch(Buffer.from('{"latency_ns":7}')))).toBe(true)
    expect(isScannedBody(scanLatencyBatch(Buffer.from('{"latency_ns":[7],"status":200}')))).toBe(true)
    expect(isScannedBody({ latency_ns: 7 })).toBe(false)
    expect(isScannedBody({ latency_ns: new Float64Array([7]) })).toBe(false)
    expect(isScannedBody(JSON.parse('{"latency_ns":[1],"__proto__":{}}'))).toBe(false)
    expect(isScannedBody(null)).toBe(false)
    expect(new ScannedBody(7, undefined)).toBeInstanceOf(ScannedBody)
  })
})

describe('POST /metrics/:id/latency through the fast path', () => {
  it('a scanned batch is stored like any other, and the route sees a Float64Array only for it', async () => {
    const app = await build()
    // What the route hands the store: a Float64Array only when the scanner read the body.
    const seen: string[] = []
    app.store.recordLatencies = ((original) =>
      function (this: typeof app.store, metric, values) {
        seen.push(values instanceof Float64Array ? 'scanned' : 'parsed')
        return original.call(this, metric, values)
        // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) above
      })(app.store.recordLatencies)

    const canonical = await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[300,100,200]}')
    expect(canonical.statusCode).toBe(202)
    expect(canonical.json()).toEqual({ accepted: 3 })
    const spaced = await postJsonText(app, '/metrics/fast/latency', ' {\n  "latency_ns": [ 400,\t500 ]\n}\n')
    expect(spaced.json()).toEqual({ accepted: 2 })
    // Valid JSON the scanner declines takes the ordinary path: 1e3 is the integer 1000.
    const exponent = await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[1e3]}')
    expect(exponent.json()).toEqual({ accepted: 1 })
    expect(seen).toEqual(['scanned', 'scanned', 'parsed'])

    const snap = (await app.inject({ method: 'GET', url: '/metrics/fast' })).json()
    expect(snap).toMatchObject({ count: 6, total: 6, min_ns: 100, max_ns: 1000, mean_ns: 2500 / 6 })
  })

  it('a single value in the canonical shape is read without JSON.parse, and stored like a parsed one', async () => {
    const app = await build()
    const parse = vi.spyOn(JSON, 'parse')
    /** The answer to a POST, and how many times the service called JSON.parse for it. */
    const post = async (text: string) => {
      parse.mockClear()
      const response = await postJsonText(app, '/metrics/one/latency', text)
      return { parses: parse.mock.calls.length, response }
    }
    try {
      const canonical = await post('{"latency_ns":1500,"status":503}')
      const spaced = await post('{ "latency_ns" : 700 }')
      // Declined (an exponent): the ordinary path, with the same answer.
      const exponent = await post('{"latency_ns":3e3}')
      // Declined: the ordinary path's 400s.
      const statusArray = await post('{"latency_ns":1500,"status":[200]}')
      const zero = await post('{"latency_ns":0}')
      parse.mockRestore()
      expect([canonical.parses, spaced.parses, exponent.parses]).toEqual([0, 0, 1])
      for (const { response } of [canonical, spaced, exponent]) expect(response.json()).toEqual({ accepted: 1 })
      expect(expectError(statusArray.response, 400)).toMatch(/status/)
      expectError(zero.response, 400)
    } finally {
      parse.mockRestore()
    }
    const snap = (await app.inject({ method: 'GET', url: '/metrics/one' })).json()
    expect(snap).toMatchObject({ count: 3, total: 3, min_ns: 700, max_ns: 3000, statuses: { '503': 1 }, errors: 1, error_rate: 1 })
  })

  it('statuses read by the scanner are stored as the ordinary path stores them, and a length mismatch stores nothing', async () => {
    const app = await build()
    expect((await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[10,20,30],"status":[200,503,0]}')).json()).toEqual({ accepted: 3 })
    expect((await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[40,50],"status":404}')).json()).toEqual({ accepted: 2 })
    expect((await postJsonText(app, '/metrics/plain/latency', '{"latency_ns":[10,20,30],"status":[200,503,0], "x":1}')).statusCode).toBe(400)
    expect(expectError(await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[1,2],"status":[200]}'), 400)).toMatch(/status/)
    const snap = (await app.inject({ method: 'GET', url: '/metrics/fast' })).json()
    expect(snap).toMatchObject({ count: 5, total: 5, statuses: { '0': 1, '200': 1, '404': 2, '503': 1 }, errors: 2, error_rate: 2 / 5 })
  })

  it('bodies the scanner declines get the ordinary answers, and store nothing', async () => {
    const app = await build()
    expect(expectError(await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[1.5]}'), 400)).toMatch(/latency_ns/)
    expectError(await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[0]}'), 400)
    expectError(await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[9007199254740992]}'), 400)
    expectError(await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[1,]}'), 400)
    expectError(await postJsonText(app, '/metrics/fast/latency', '{"latency_ns":[1],"x":1}'), 400)
    expectError(await postJsonText(app, '/metrics/fast/latency', ''), 400)
    expect((await app.inject({ method: 'GET', url: '/metrics/fast' })).statusCode).toBe(404)
  })
})
