import { parse as parseLossless } from 'lossless-json'
import { InvalidOtlpBodyError } from './otlp-errors.js'
import { HTTP_STATUS_KEY, LEGACY_HTTP_STATUS_KEY, SERVICE_NAME_KEY, type SpanBatch } from './span-batch.js'

const MAX_UINT64 = 2n ** 64n - 1n
const UNSIGNED = /^[0-9]{1,20}$/
const SIGNED = /^-?[0-9]{1,20}$/

/** Thrown by the first pass when a 64-bit time is a JSON number past 2^53, which JSON.parse has rounded. */
class InexactNumber extends Error {}

/**
 * Reads an ExportTraceServiceRequest in the OTLP JSON mapping (lowerCamelCase
 * keys, 64-bit integers as decimal strings or numbers, enums as integers,
 * unknown keys ignored) into a fresh batch from `newBatch`.
 *
 * JSON.parse reads every number as a double, which rounds a 19-digit
 * nanosecond time. SDKs send those times as strings, so JSON.parse serves
 * nearly every body; only when a time is a number past 2^53 is the text
 * parsed again with lossless-json, whose integers are BigInts.
 *
 * Fields this door reads must have their mapping's JSON types, or the body is
 * refused whole (400); the others are not looked at.
 */
export function readJsonSpans(body: Buffer, newBatch: () => SpanBatch): SpanBatch {
  const text = body.toString('utf8')
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw invalid((err as Error).message)
  }
  try {
    const batch = newBatch()
    addJsonSpans(doc, batch, false)
    return batch
  } catch (err) {
    if (!(err instanceof InexactNumber)) throw invalidAt(err)
  }
  let exactDoc: unknown
  try {
    // Duplicate keys: the last one wins, as with JSON.parse.
    exactDoc = parseLossless(text, null, { parseNumber: exactNumber, onDuplicateKey: ({ newValue }) => newValue })
  } catch (err) {
    // lossless-json recurses per level (JSON.parse above does not): a stack overflow is a body nested too deeply.
    throw invalid(err instanceof RangeError ? 'it nests too deeply to read its 64-bit numbers exactly' : (err as Error).message)
  }
  try {
    const batch = newBatch()
    addJsonSpans(exactDoc, batch, true)
    return batch
  } catch (err) {
    throw invalidAt(err)
  }
}

/**
 * A number in the exact pass: an integer of at most 20 digits (every 64-bit one) as a
 * BigInt, anything else as a double. BigInt() of a long run of digits takes time
 * quadratic in its length (15 million digits in an unread field: 2.9 s with the event
 * loop blocked); no 64-bit field is longer, and a longer number in a field this door
 * reads is out of range either way.
 */
function exactNumber(text: string): number | bigint {
  return SIGNED.test(text) ? BigInt(text) : Number(text)
}

function invalidAt(err: unknown): Error {
  if (!(err instanceof FieldError)) return err instanceof Error ? err : new Error(String(err))
  return invalid(err.path === '' ? err.problem : `${err.path} ${err.problem}`)
}

function addJsonSpans(doc: unknown, batch: SpanBatch, exact: boolean): void {
  if (!isObject(doc)) throw new FieldError('', 'the body must be a JSON object')
  const resourceSpans = arrayAt(doc, 'resourceSpans')
  for (let r = 0; r < resourceSpans.length; r++) {
    try {
      const rs = objectIn(resourceSpans, r)
      const resource = objectAt(rs, 'resource')
      batch.startResource(resource === undefined ? undefined : within('resource', () => serviceName(arrayAt(resource, 'attributes'))))
      const scopeSpans = arrayAt(rs, 'scopeSpans')
      for (let s = 0; s < scopeSpans.length; s++) {
        try {
          const spans = arrayAt(objectIn(scopeSpans, s), 'spans')
          for (let i = 0; i < spans.length; i++) {
            try {
              addSpan(objectIn(spans, i), batch, exact)
            } catch (err) {
              throw prefixed(`spans[${i}]`, err)
            }
          }
        } catch (err) {
          throw prefixed(`scopeSpans[${s}]`, err)
        }
      }
    } catch (err) {
      throw prefixed(`resourceSpans[${r}]`, err)
    }
  }
}

function addSpan(span: Record<string, unknown>, batch: SpanBatch, exact: boolean): void {
  const name = span.name ?? ''
  if (typeof name !== 'string') throw new FieldError('name', 'must be a string')
  const start = uint64(span.startTimeUnixNano, exact, 'startTimeUnixNano')
  const end = uint64(span.endTimeUnixNano, exact, 'endTimeUnixNano')
  const status = objectAt(span, 'status')
  const statusCode = status === undefined ? 0 : int32(status.code, 'status.code')
  const attributes = arrayAt(span, 'attributes')
  batch.addSpan(name, int32(span.kind, 'kind'), Number(end - start), httpStatus(attributes), statusCode)
}

function serviceName(attributes: unknown[]): string | undefined {
  for (let i = 0; i < attributes.length; i++) {
    const { key, value } = attribute(attributes, i)
    if (key !== SERVICE_NAME_KEY || value === undefined) continue
    const text = value.stringValue
    if (typeof text === 'string') return text
    if (text !== undefined && text !== null) throw new FieldError(`attributes[${i}].value.stringValue`, 'must be a string')
  }
  return undefined
}

/** The integer http.response.status_code, else the integer http.status_code, else NaN. */
function httpStatus(attributes: unknown[]): number {
  let legacy = NaN
  for (let i = 0; i < attributes.length; i++) {
    const { key, value } = attribute(attributes, i)
    if ((key !== HTTP_STATUS_KEY && key !== LEGACY_HTTP_STATUS_KEY) || value?.intValue === undefined || value.intValue === null) continue
    const status = int64(value.intValue, `attributes[${i}].value.intValue`)
    if (key === HTTP_STATUS_KEY) return status
    legacy = status
  }
  return legacy
}

function attribute(attributes: unknown[], i: number): { key: string; value: Record<string, unknown> | undefined } {
  const kv = attributes[i]
  if (!isObject(kv)) throw new FieldError(`attributes[${i}]`, 'must be an object')
  const key = kv.key ?? ''
  if (typeof key !== 'string') throw new FieldError(`attributes[${i}].key`, 'must be a string')
  const value = kv.value
  if (value === undefined || value === null) return { key, value: undefined }
  if (!isObject(value)) throw new FieldError(`attributes[${i}].value`, 'must be an object')
  return { key, value }
}

/** A fixed64 time: a decimal string, or a number (exact only within 2^53), or a BigInt from the exact pass. */
function uint64(value: unknown, exact: boolean, field: string): bigint {
  if (value === undefined || value === null) return 0n
  if (typeof value === 'string' && UNSIGNED.test(value)) {
    const v = BigInt(value)
    if (v <= MAX_UINT64) return v
  } else if (typeof value === 'bigint' && value >= 0n && value <= MAX_UINT64) {
    return value
  } else if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    if (Number.isSafeInteger(value)) return BigInt(value)
    // Rounded, maybe up to 2^64 from just below it: the exact pass reads the digits.
    if (!exact) throw new InexactNumber()
    // Still a double in the exact pass: written with an exponent or a fraction, or more than 20 digits (past 2^64).
    if (value < 2 ** 64) throw new FieldError(field, `must be written as integer digits to be exact, got ${value}`)
  }
  throw new FieldError(field, 'must be an unsigned 64-bit integer (a decimal string or a number)')
}

/** An int64 attribute value, as a double (exact within 2^53, which holds every valid status). */
function int64(value: unknown, field: string): number {
  if ((typeof value === 'string' && SIGNED.test(value)) || typeof value === 'bigint') return Number(value)
  if (typeof value === 'number' && Number.isInteger(value)) return value
  throw new FieldError(field, 'must be a 64-bit integer (a decimal string or a number)')
}

/** An enum or int32: an integer (the mapping also allows a decimal string); absent is 0. */
function int32(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0
  const n = typeof value === 'string' && SIGNED.test(value) ? Number(value) : typeof value === 'bigint' ? Number(value) : value
  if (typeof n === 'number' && Number.isInteger(n) && n >= -2147483648 && n <= 2147483647) return n
  throw new FieldError(field, 'must be a 32-bit integer')
}

/** Where in the body a field is wrong, relative to the message being read; the loops above prefix their part. */
class FieldError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path === '' ? problem : `${path} ${problem}`)
  }
}

function prefixed(part: string, err: unknown): Error {
  if (err instanceof FieldError) return new FieldError(err.path === '' ? part : `${part}.${err.path}`, err.problem)
  return err instanceof Error ? err : new Error(String(err))
}

function within<T>(part: string, read: () => T): T {
  try {
    return read()
  } catch (err) {
    throw prefixed(part, err)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A message field: an object, or undefined when absent or null. */
function objectAt(holder: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = holder[key]
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) throw new FieldError(key, 'must be an object')
  return value
}

/** A repeated field: an array, or empty when absent or null. */
function arrayAt(holder: Record<string, unknown>, key: string): unknown[] {
  const value = holder[key]
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new FieldError(key, 'must be an array')
  return value
}

function objectIn(array: unknown[], i: number): Record<string, unknown> {
  const value = array[i]
  // The caller's prefix names the element.
  if (!isObject(value)) throw new FieldError('', 'must be an object')
  return value
}

function invalid(message: string): Error {
  return new InvalidOtlpBodyError('JSON', message)
}
