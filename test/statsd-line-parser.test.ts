import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BadLineLog } from '../src/statsd/bad-line-log.js'
import { cleanKey } from '../src/statsd/key-cleaning.js'
import { LineIngest } from '../src/statsd/line-ingest.js'
import { LineKind, LineParser } from '../src/statsd/line-parser.js'
import { StatsdCounters } from '../src/statsd/statsd-counters.js'
import { TcpLineFramer, MAX_TCP_LINE_BYTES } from '../src/statsd/tcp-line-framer.js'
import { METRIC_ID_PATTERN } from '../src/store/ingest.js'
import { MetricStore } from '../src/store/metric-store.js'
import { NO_STATUS } from '../src/store/sample-layout.js'
import { decimalText, nameText, nearValidLine } from './statsd-arbitraries.js'
import { cleanKeyRef, msToNsRef, type RefLine, refParseLine } from './statsd-reference.js'

/** What the parser made of a line, in the reference's shape. */
function parsed(line: string): RefLine & { reason?: string } {
  const parser = new LineParser()
  // Parsed inside a longer text, so that no search may run past the line's end unnoticed.
  const text = `x:1|ms|#status:1\n${line}\nnext:2:3|ms|@0.5|#status:500`
  const start = text.indexOf('\n') + 1
  const kind = parser.parse(text, start, start + line.length)
  switch (kind) {
    case LineKind.timer:
      return {
        kind: 'timer',
        id: parser.id,
        values: Array.from(parser.values.subarray(0, parser.count)),
        status: parser.status === NO_STATUS ? undefined : parser.status,
      }
    case LineKind.job:
      return { kind: 'job', id: parser.id, event: parser.event, count: parser.jobCount }
    case LineKind.ignored:
      return { kind: 'ignored' }
    default:
      return { kind: 'bad', reason: parser.reason }
  }
}

function ns(ms: string): number {
  return Number(msToNsRef(ms))
}

describe('StatsD lines: what each kind of line becomes', () => {
  it.each([
    ['checkout:12|ms', { kind: 'timer', id: 'checkout', values: [ns('12')], status: undefined }],
    ['checkout:1.5|h', { kind: 'timer', id: 'checkout', values: [1_500_000], status: undefined }],
    ['checkout:0.25|d', { kind: 'timer', id: 'checkout', values: [250_000], status: undefined }],
    ['a:1|ms:2|ms:3|h', { kind: 'timer', id: 'a', values: [1e6, 2e6, 3e6], status: undefined }],
    ['a:1:2:3|ms', { kind: 'timer', id: 'a', values: [1e6, 2e6, 3e6], status: undefined }],
    ['a:1|ms|@0.5:2|ms|@0.1', { kind: 'timer', id: 'a', values: [1e6, 2e6], status: undefined }],
    ['a:1:2|ms|@0.25|#env:prod,status:503', { kind: 'timer', id: 'a', values: [1e6, 2e6], status: 503 }],
    ['a:1|ms|#status:200|@0.5', { kind: 'timer', id: 'a', values: [1e6], status: 200 }],
    ['a:1|ms|#status:0,status:0', { kind: 'timer', id: 'a', values: [1e6], status: 0 }],
    ['a:1|ms|T1700000000|c:abc123|#region:eu', { kind: 'timer', id: 'a', values: [1e6], status: undefined }],
    ['a:.5|ms', { kind: 'timer', id: 'a', values: [500_000], status: undefined }],
    ['a:5.|ms', { kind: 'timer', id: 'a', values: [5_000_000], status: undefined }],
    ['a:1e-3|ms', { kind: 'timer', id: 'a', values: [1000], status: undefined }],
    ['a:2.5E+2|ms', { kind: 'timer', id: 'a', values: [250_000_000], status: undefined }],
    ['a:0.0000005|ms', { kind: 'timer', id: 'a', values: [1], status: undefined }],
    ['a:0.0000015|ms', { kind: 'timer', id: 'a', values: [2], status: undefined }],
    ['a:9007199254.740991|ms', { kind: 'timer', id: 'a', values: [Number.MAX_SAFE_INTEGER], status: undefined }],
    ['a:9007199254.7409914999999|ms', { kind: 'timer', id: 'a', values: [Number.MAX_SAFE_INTEGER], status: undefined }],
    ['a:0.00000050000000000000001|ms', { kind: 'timer', id: 'a', values: [1], status: undefined }],
    ['my service/GET users:3|ms', { kind: 'timer', id: 'my_service-GET_users', values: [3e6], status: undefined }],
    ['  tabs\tand  spaces :3|ms', { kind: 'timer', id: '_tabs_and_spaces_', values: [3e6], status: undefined }],
    ['ünïcödé.naïve!:3|ms', { kind: 'timer', id: 'ncd.nave', values: [3e6], status: undefined }],
    ['__proto__:1|ms', { kind: 'timer', id: '__proto__', values: [1e6], status: undefined }],
    ['worker.completed:1|c', { kind: 'job', id: 'worker', event: 'completed', count: 1 }],
    ['worker.started:3|c|@0.5', { kind: 'job', id: 'worker', event: 'started', count: 6 }],
    ['worker.failed:1|c|@0.3', { kind: 'job', id: 'worker', event: 'failed', count: 3 }],
    ['worker.retried:1:2|c', { kind: 'job', id: 'worker', event: 'retried', count: 3 }],
    ['worker.created:1|c:1|c|@0.5', { kind: 'job', id: 'worker', event: 'created', count: 3 }],
    ['a.b.completed:1|c|#status:200', { kind: 'job', id: 'a.b', event: 'completed', count: 1 }],
    ['my job/x.completed:1|c', { kind: 'job', id: 'my_job-x', event: 'completed', count: 1 }],
    ['page.views:1|c', { kind: 'ignored' }],
    ['completed:1|c', { kind: 'ignored' }],
    ['worker.completed.total:1|c', { kind: 'ignored' }],
    ['queue.depth:12|g', { kind: 'ignored' }],
    ['queue.depth:-3|g', { kind: 'ignored' }],
    ['users:alice|s', { kind: 'ignored' }],
    ['a:1|g:2|g', { kind: 'ignored' }],
    ['_e{5,4}:title|text|#status:abc', { kind: 'ignored' }],
    ['_sc|db|0|#env:prod', { kind: 'ignored' }],
  ] as const)('%s', (line, want) => {
    expect(parsed(line)).toEqual(want)
    expect(refParseLine(line), 'the reference agrees').toEqual(want)
  })
})

describe('StatsD lines: every kind of bad line', () => {
  it.each([
    ['no colon', 'checkout'],
    ['no type', 'checkout:12'],
    ['empty type', 'checkout:12|'],
    ['unknown type', 'checkout:12|x'],
    ['type in capitals', 'checkout:12|MS'],
    ['type with a space', 'checkout:12|ms |#status:200'],
    ['timers and counters mixed', 'a:1|ms:2|c'],
    ['timers and gauges mixed', 'a:1|ms:2|g'],
    ['empty value', 'checkout:|ms'],
    ['zero', 'checkout:0|ms'],
    ['rounds to zero', 'checkout:0.0000004999|ms'],
    ['negative', 'checkout:-1|ms'],
    ['plus sign', 'checkout:+1|ms'],
    ['NaN', 'checkout:NaN|ms'],
    ['letters', 'checkout:12ms|ms'],
    ['hex', 'checkout:0x10|ms'],
    ['exponent without digits', 'checkout:1e|ms'],
    ['space in the value', 'checkout: 12|ms'],
    ['above 2^53-1 ns', 'checkout:9007199254.7409915|ms'],
    ['huge exponent', 'checkout:1e400|ms'],
    ['one bad value among good ones', 'checkout:1:2:x|ms'],
    ['a bad value in a later group', 'checkout:1|ms:0|ms'],
    ['rate above 1', 'checkout:1|ms|@2'],
    ['rate zero', 'checkout:1|ms|@0'],
    ['rate negative', 'checkout:1|ms|@-0.5'],
    ['rate not a number', 'checkout:1|ms|@half'],
    ['rate empty', 'checkout:1|ms|@'],
    ['status above 999', 'checkout:1|ms|#status:1000'],
    ['status empty', 'checkout:1|ms|#status:'],
    ['status without value', 'checkout:1|ms|#status'],
    ['status not an integer', 'checkout:1|ms|#status:2xx'],
    ['status negative', 'checkout:1|ms|#status:-1'],
    ['two different statuses', 'checkout:1|ms|#status:200,status:500'],
    ['name empty', ':1|ms'],
    ['name empty after cleaning', '!!!$%é:1|ms'],
    ['name longer than 128 after cleaning', `${'a'.repeat(129)}:1|ms`],
    ['job name without id', '.completed:1|c'],
    ['job count zero', 'worker.completed:0|c'],
    ['job count rounds to zero', 'worker.completed:0.4|c'],
    ['job count above 1,000,000', 'worker.completed:1000001|c'],
    ['job count above 1,000,000 after the rate', 'worker.completed:1000|c|@0.0001'],
    ['job count not a number', 'worker.completed:x|c'],
    ['job counter with a bad rate', 'worker.completed:1|c|@1.5'],
    ['job counter with a bad status', 'worker.completed:1|c|#status:abc'],
    ['job name longer than 128', `${'a'.repeat(120)}.completed:1|c`],
    ['more than 10,000 values', `many:${Array(10_001).fill('1').join(':')}|ms`],
  ])('%s', (_what, line) => {
    const got = parsed(line)
    expect(got.kind, JSON.stringify(got)).toBe('bad')
    expect(got.reason).not.toBe('')
    expect(refParseLine(line), 'the reference agrees').toEqual({ kind: 'bad' })
  })

  it('10,000 values on one line are fine', () => {
    const line = `many:${Array.from({ length: 10_000 }, (_, i) => i + 1).join(':')}|ms`
    const got = parsed(line)
    expect(got).toEqual(refParseLine(line))
    expect(got.kind === 'timer' && got.values.length).toBe(10_000)
  })
})

describe('StatsD lines: the parser agrees with the reference', () => {
  it('on near-valid lines', () => {
    fc.assert(
      fc.property(nearValidLine, (line) => {
        const { reason: _reason, ...got } = parsed(line)
        expect(got).toEqual(refParseLine(line))
      }),
      { numRuns: 2000 },
    )
  })

  it('on any string: never throws; what it records is always something the store takes', () => {
    const id = new RegExp(METRIC_ID_PATTERN)
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }).filter((s) => !s.includes('\n')),
        (line) => {
          const got = parsed(line)
          const { reason: _reason, ...rest } = got
          expect(rest).toEqual(refParseLine(line))
          if (got.kind === 'timer') {
            expect(got.id).toMatch(id)
            for (const v of got.values) expect(Number.isSafeInteger(v) && v >= 1).toBe(true)
          }
          if (got.kind === 'job') {
            expect(got.id).toMatch(id)
            expect(Number.isInteger(got.count) && got.count >= 1 && got.count <= 1_000_000).toBe(true)
          }
        },
      ),
      { numRuns: 1500 },
    )
  })

  it('milliseconds become whole nanoseconds by exact rounding to nearest, halves up', () => {
    fc.assert(
      fc.property(decimalText, (ms) => {
        const want = msToNsRef(ms)
        const got = parsed(`t:${ms}|ms`)
        if (want === undefined || want < 1n || want > BigInt(Number.MAX_SAFE_INTEGER)) expect(got.kind).toBe('bad')
        else expect(got).toEqual({ kind: 'timer', id: 't', values: [Number(want)], status: undefined })
      }),
      { numRuns: 2000 },
    )
  })
})

describe('StatsD key cleaning', () => {
  it('matches the reference daemon on any name', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), nameText), (name) => {
        const text = `<<${name}>>`
        expect(cleanKey(text, 2, 2 + name.length)).toBe(cleanKeyRef(name))
      }),
      { numRuns: 1500 },
    )
  })
})

describe('TCP line framing', () => {
  /** Feeds the chunks to a framer; returns the text of the whole lines and whatever was left unfinished. */
  function frame(chunks: Buffer[]): { text: string; unfinished: string; overLong: boolean } {
    const framer = new TcpLineFramer()
    let text = ''
    for (const chunk of chunks) text += framer.push(chunk)
    return { text, unfinished: framer.unfinished(Infinity), overLong: framer.overLong }
  }

  it('gives the same lines however the stream is cut, multibyte characters included', () => {
    const line = fc.string({
      unit: fc.oneof(fc.constantFrom('a', ':', '|', '1', '\r', 'é', '€', '😀'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
      maxLength: 30,
    })
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.string({ maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, tail, cuts) => {
        const stream = Buffer.from(lines.map((l) => `${l.replace(/\n/g, '')}\n`).join('') + tail.replace(/\n/g, ''))
        const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b)
        const chunks = [0, ...at].map((from, i) => stream.subarray(from, i < at.length ? at[i] : stream.length))
        const got = frame(chunks)
        const lastBreak = stream.lastIndexOf(10)
        expect(got.text).toBe(stream.subarray(0, lastBreak + 1).toString('utf8'))
        expect(got.unfinished).toBe(stream.subarray(lastBreak + 1).toString('utf8'))
        expect(got.overLong).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })

  it(`keeps lines of exactly ${MAX_TCP_LINE_BYTES} bytes; stops at a longer one, finished or not`, () => {
    const exact = `${'a'.repeat(MAX_TCP_LINE_BYTES - 5)}:1|ms\n`
    expect(Buffer.byteLength(exact)).toBe(MAX_TCP_LINE_BYTES + 1)
    expect(frame([Buffer.from(exact + exact)])).toEqual({ text: exact + exact, unfinished: '', overLong: false })

    const long = `${'a'.repeat(MAX_TCP_LINE_BYTES - 4)}:1|ms\n`
    // The start of the over-long line is kept for the log (its first 1 KiB).
    expect(frame([Buffer.from(`ok:1|ms\n${long}after:1|ms\n`)])).toEqual({ text: 'ok:1|ms\n', unfinished: 'a'.repeat(1024), overLong: true })
    // Unfinished, arriving in small pieces.
    const pieces = Array.from({ length: 70 }, () => Buffer.from('b'.repeat(1024)))
    expect(frame([Buffer.from('ok:1|ms\nb'), ...pieces])).toEqual({ text: 'ok:1|ms\n', unfinished: 'b'.repeat(1024), overLong: true })
    // Finished in a later chunk, after a line that was waiting.
    expect(frame([Buffer.from('ok:1|ms\nwait'), Buffer.from(`ing:1|ms\n${long}`)])).toEqual({
      text: 'ok:1|ms\nwaiting:1|ms\n',
      unfinished: 'a'.repeat(1024),
      overLong: true,
    })
    // A waiting line that grows past the limit with the chunk that ends it.
    expect(frame([Buffer.from('c'.repeat(1000)), Buffer.from(`${'c'.repeat(MAX_TCP_LINE_BYTES)}\nok:1|ms\n`)])).toEqual({
      text: '',
      unfinished: 'c'.repeat(1024),
      overLong: true,
    })
  })

  it('a line that trickles in a byte at a time, up to the limit, comes out whole', () => {
    const line = `${'d'.repeat(MAX_TCP_LINE_BYTES - 5)}:1|ms\n`
    const framer = new TcpLineFramer()
    let text = ''
    for (let i = 0; i < line.length; i++) text += framer.push(Buffer.from(line[i]))
    expect(text).toBe(line)
    expect(framer.overLong).toBe(false)
  })
})

describe('LineIngest arrival times', () => {
  it("stamps a datagram's lines with one clock reading, and the next datagram with another", () => {
    let t = 1_000
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 100, windowMs: 60_000, now: () => ++t })
    const quiet = { level: 'info', info() {}, warn() {}, debug() {}, error() {} }
    const lines = new LineIngest(store, new StatsdCounters(), new BadLineLog(quiet))
    const source = { address: '127.0.0.1', port: 9 }
    lines.ingest('a:1|ms\nb:2|ms\na:3|ms|@0.5\nc:1|c', 1, 'udp', source)
    lines.ingest('a:4|ms', 1, 'udp', source)
    const times = (id: string) => {
      const out: number[] = []
      store.get(id)?.forEach((_value, time) => out.push(time))
      return out
    }
    const [first] = times('a')
    expect(times('a')).toEqual([first, first, first + 1])
    expect(times('b')).toEqual([first])
  })
})
