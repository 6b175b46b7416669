import { MAX_BATCH } from '../store/ingest.js'

/**
 * A fast path for the bodies writers send: {"latency_ns":<integer>} or
 * {"latency_ns":[<integers>]}, optionally followed by "status": one integer,
 * or (with a batch) an array of integers.
 *
 * JSON.parse builds a JS array of numbers, Ajv then checks every item, and the
 * store copies them into its ring: three passes over a 1,000-sample body, and
 * about a third of the service's CPU per batch request (bench S2). For a single
 * sample, the text decoding, JSON.parse and Ajv were most of the JavaScript the
 * service ran per request beyond the baseline's (bench S1-CPU, profiled). The
 * scanner reads the bytes once, straight into typed arrays, and accepts only a
 * body that JSON.parse and the body schema would accept with the same values:
 * JSON whitespace anywhere between tokens; the key "latency_ns" first, then
 * optionally "status"; latencies (1..MAX_BATCH in a batch) written as 1-9
 * followed by at most 14 more digits (so each is within 1..2^53-1 and exact in
 * a double); statuses written as 0 or 1-9 followed by at most 2 digits
 * (0..999). Anything else, including valid JSON it does not handle (an
 * exponent, 16 or more digits, escapes in a key, keys in another order), and a
 * status array beside a single value (a 400 the schema words), is declined,
 * and the request takes the ordinary path: JSON.parse and schema validation,
 * with their usual answers and errors. Whether a status array has one status
 * per value is the domain's check (ingest.ts), on both paths.
 */
export class ScannedBody {
  constructor(
    // Not readonly: a body still holding its scanner's scratch is given copies (BatchScanner.scan).
    public latency_ns: number | Float64Array,
    public status: number | Uint16Array | undefined,
  ) {}
}

/**
 * Scans bodies into scratch with room for the largest batch. An accepted batch's
 * arrays are views of that scratch, lent to the body until the route releases it
 * (once the store has copied what it keeps): copying them out instead, into arrays
 * off the JS heap, cost about 5 us per 1,000 values and 4 us per 1,000 statuses,
 * a third of what a status array costs per request (bench S2-status).
 *
 * The route's handler runs in the same turn as the parser, so the scratch is
 * normally free again when the next body arrives. When it is not (a request whose
 * handler never ran, or a hook that made the wait asynchronous), the body still
 * holding it gets copies of its own first: correct either way, and no slower than
 * copying every time.
 */
export class BatchScanner {
  private readonly values = new Float64Array(MAX_BATCH)
  private readonly statuses = new Uint16Array(MAX_BATCH)
  private lent: ScannedBody | undefined = undefined

  /** The body's parts (arrays lent until release()), or undefined when the body takes the ordinary path. */
  scan(body: Buffer): ScannedBody | undefined {
    if (this.lent !== undefined) {
      giveOwnCopies(this.lent)
      this.lent = undefined
    }
    const scanned = scanLatencyBody(body, this.values, this.statuses)
    if (scanned !== undefined && typeof scanned.latency_ns !== 'number') this.lent = scanned
    return scanned
  }

  /** The caller is done with `body` (whatever it is): the scratch it may hold is free again. */
  release(body: unknown): void {
    if (body === this.lent) this.lent = undefined
  }
}

function giveOwnCopies(body: ScannedBody): void {
  if (typeof body.latency_ns !== 'number') body.latency_ns = body.latency_ns.slice()
  if (typeof body.status === 'object') body.status = body.status.slice()
}

function scanLatencyBody(body: Buffer, values: Float64Array, statuses: Uint16Array): ScannedBody | undefined {
  // Character codes are literals: module-level constants cost a load and a
  // temporal-dead-zone check on every use, which made this loop 1.8x slower.
  const n = body.length
  const max = values.length
  let i = skipWhitespace(body, 0)
  if (body[i] !== 0x7b /* { */) return undefined
  i = skipWhitespace(body, i + 1)
  if (!hasAt(body, i, LATENCY_KEY)) return undefined
  i = skipWhitespace(body, i + LATENCY_KEY.length)
  if (body[i] !== 0x3a /* : */) return undefined
  i = skipWhitespace(body, i + 1)
  let latency: number | Float64Array
  if (body[i] !== 0x5b /* [ */) {
    const end = scanLatency(body, i)
    if (end < 0) return undefined
    latency = integerValue(body, i, end)
    i = skipWhitespace(body, end)
  } else {
    i = skipWhitespace(body, i + 1)
    let count = 0
    let c = body[i]
    for (;;) {
      if (c < 0x31 || c > 0x39) return undefined // a digit 1-9: no sign, no leading zero
      const start = i
      let value = c - 0x30
      c = body[++i]
      while (c >= 0x30 && c <= 0x39) {
        value = value * 10 + (c - 0x30)
        c = body[++i]
      }
      if (i - start > 15 || count === max) return undefined // 15 digits: below 2^53, exact
      values[count++] = value
      // Whitespace is checked for with one comparison in the common case (none).
      if (c <= 0x20) c = body[(i = skipWhitespace(body, i))]
      if (c === 0x2c /* , */) {
        c = body[++i]
        if (c <= 0x20) c = body[(i = skipWhitespace(body, i))]
        continue
      }
      if (c !== 0x5d /* ] */) return undefined // a fraction, an exponent, or not JSON
      break
    }
    latency = values.subarray(0, count)
    i = skipWhitespace(body, i + 1)
  }
  let status: number | Uint16Array | undefined
  if (body[i] === 0x2c /* , */) {
    i = skipWhitespace(body, i + 1)
    if (!hasAt(body, i, STATUS_KEY)) return undefined
    i = skipWhitespace(body, i + STATUS_KEY.length)
    if (body[i] !== 0x3a /* : */) return undefined
    i = skipWhitespace(body, i + 1)
    if (body[i] === 0x5b /* [ */) {
      if (typeof latency === 'number') return undefined
      let k = 0
      i = skipWhitespace(body, i + 1)
      const pairEnd = n - 7 // two statuses read eight bytes at a time lie inside the body
      const words = new DataView(body.buffer, body.byteOffset, n)
      for (;;) {
        // The usual statuses, three digits and a comma each, are read two at a
        // time in a loop of their own with one exit, each as a 32-bit word (a
        // DataView loads it unaligned) checked within the word: 2.5 -> 2.1 us
        // per 1,000 statuses against a load and a check per byte, 3.3 us one
        // by one (in-process, bench S2-status). Anything else (a shorter
        // status, the last one, whitespace) leaves it for the general steps
        // below, which come back.
        while (i < pairEnd && k < max - 1) {
          // Each word XORed with `000,`: a status's digit values in the low three bytes, 0 on top.
          const x = words.getInt32(i, true) ^ 0x2c303030
          const y = words.getInt32(i + 4, true) ^ 0x2c303030
          // A byte of 0..0x7f plus 0x76 sets its top bit exactly when it is over 9 (no carry
          // into the next: 0x7f + 0x76 < 0x100); a byte with its top bit set, or a top byte
          // that is not 0 (not a comma), fails the mask too. The first digit must not be 0.
          if (((((x & 0x7f7f7f) + 0x767676) | x) & 0xff808080) !== 0 || (x & 0xff) === 0) break
          if (((((y & 0x7f7f7f) + 0x767676) | y) & 0xff808080) !== 0 || (y & 0xff) === 0) break
          statuses[k] = (x & 0xff) * 100 + ((x >> 8) & 0xff) * 10 + ((x >> 16) & 0xff)
          statuses[k + 1] = (y & 0xff) * 100 + ((y >> 8) & 0xff) * 10 + ((y >> 16) & 0xff)
          k += 2
          i += 8
        }
        let c = body[i]
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          i = skipWhitespace(body, i) // after a comma: the next status may take the fast loop
          continue
        }
        if (k === max) return undefined
        const end = scanStatus(body, i)
        if (end < 0) return undefined
        statuses[k++] = integerValue(body, i, end)
        i = skipWhitespace(body, end)
        c = body[i]
        if (c === 0x2c /* , */) {
          i++
          continue
        }
        if (c !== 0x5d /* ] */) return undefined // a fraction, an exponent, or not JSON
        break
      }
      status = statuses.subarray(0, k)
      i = skipWhitespace(body, i + 1)
    } else {
      const end = scanStatus(body, i)
      if (end < 0) return undefined
      status = integerValue(body, i, end)
      i = skipWhitespace(body, end)
    }
  }
  if (body[i] !== 0x7d /* } */) return undefined
  return skipWhitespace(body, i + 1) === n ? new ScannedBody(latency, status) : undefined
}

/**
 * The end of a latency at i: 1-9 then at most 14 digits, not followed by a
 * digit, `.`, `e` or `E`; -1 when there is none.
 */
function scanLatency(body: Buffer, i: number): number {
  const first = body[i]
  if (first < 0x31 || first > 0x39) return -1
  let j = i + 1
  while (j < i + 15 && body[j] >= 0x30 && body[j] <= 0x39) j++
  return endsNumber(body[j]) ? j : -1
}

/**
 * The end of a status at i: `0`, or 1-9 then at most two digits, not followed
 * by a digit, `.`, `e` or `E` (a longer number, a fraction or an exponent); -1 when there is none.
 */
function scanStatus(body: Buffer, i: number): number {
  const first = body[i]
  let j = i + 1
  if (first >= 0x31 && first <= 0x39) {
    while (j < i + 3 && body[j] >= 0x30 && body[j] <= 0x39) j++
  } else if (first !== 0x30) return -1
  return endsNumber(body[j]) ? j : -1
}

/** Whether a JSON number ends before this byte: it is not a digit, `.`, `e` or `E` (a longer number, a fraction or an exponent). */
function endsNumber(next: number | undefined): boolean {
  return !((next! >= 0x30 && next! <= 0x39) || next === 0x2e || next === 0x65 || next === 0x45)
}

/** The integer written in ASCII digits at [from, to). */
function integerValue(body: Buffer, from: number, to: number): number {
  let value = 0
  for (let i = from; i < to; i++) value = value * 10 + (body[i] - 0x30)
  return value
}

function hasAt(body: Buffer, i: number, key: Buffer): boolean {
  for (let k = 0; k < key.length; k++) if (body[i + k] !== key[k]) return false
  return true
}

/** A body the scanner produced: JSON.parse never returns an instance of a class, so no text can pass for one. */
export function isScannedBody(body: unknown): body is ScannedBody {
  return body instanceof ScannedBody
}

const LATENCY_KEY = Buffer.from('"latency_ns"')
const STATUS_KEY = Buffer.from('"status"')

/** The index of the first byte at or after i that is not JSON whitespace (space, tab, LF, CR). */
function skipWhitespace(body: Buffer, i: number): number {
  let c = body[i]
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = body[++i]
  return i
}
