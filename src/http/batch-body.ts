import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify'
import { MAX_BATCH } from '../store/ingest.js'

/**
 * A fast path for the body batch writers send: {"latency_ns":[<integers>]}.
 *
 * JSON.parse builds a JS array of numbers, Ajv then checks every item, and the
 * store copies them into its ring: three passes over a 1,000-sample body, and
 * about a third of the service's CPU per batch request (bench S2). The scanner
 * reads the bytes once, straight into a Float64Array, and accepts only a body
 * that JSON.parse and the body schema would accept with the same values: JSON
 * whitespace anywhere between tokens; one key, "latency_ns"; 1..MAX_BATCH
 * integers written as 1-9 followed by at most 14 more digits (so each is within
 * 1..2^53-1 and exact in a double). Anything else, including valid JSON it does
 * not handle (an exponent, 16 or more digits, escapes in the key, a second key),
 * is declined, and the request takes the ordinary path: JSON.parse and schema
 * validation, with their usual answers and errors.
 *
 * The scanned body is {latency_ns: Float64Array}, which no JSON text parses to:
 * that is how the body validator recognises it as already checked.
 */
export function scanLatencyBatch(body: Buffer): { latency_ns: Float64Array } | undefined {
  // Character codes are literals: module-level constants cost a load and a
  // temporal-dead-zone check on every use, which made this loop 1.8x slower.
  const n = body.length
  const out = scratch
  const max = out.length
  const key = KEY
  let i = skipWhitespace(body, 0)
  if (body[i] !== 0x7b /* { */) return undefined
  i = skipWhitespace(body, i + 1)
  for (let k = 0; k < key.length; k++) if (body[i + k] !== key[k]) return undefined
  i = skipWhitespace(body, i + key.length)
  if (body[i] !== 0x3a /* : */) return undefined
  i = skipWhitespace(body, i + 1)
  if (body[i] !== 0x5b /* [ */) return undefined
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
    out[count++] = value
    // Whitespace is checked for with one comparison in the common case (none).
    if (c <= 0x20) c = body[(i = skipWhitespace(body, i))]
    if (c === 0x2c /* , */) {
      c = body[++i]
      if (c <= 0x20) c = body[(i = skipWhitespace(body, i))]
      continue
    }
    if (c !== 0x5d /* ] */) return undefined // a fraction, an exponent, or not JSON
    i = skipWhitespace(body, i + 1)
    if (body[i] !== 0x7d /* } */) return undefined
    i = skipWhitespace(body, i + 1)
    return i === n ? { latency_ns: out.slice(0, count) } : undefined
  }
}

/** A body scanLatencyBatch produced (JSON text never parses to a Float64Array). */
export function isScannedBatch(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { latency_ns?: unknown }).latency_ns instanceof Float64Array
}

/**
 * Fastify's own validator compiler (@fastify/ajv-compiler, with the app's Ajv
 * options), except that body validators pass a scanned batch through: the
 * scanner has checked it against the body schema already.
 */
export const validatorsPassingScannedBatches: NonNullable<FastifyServerOptions['schemaController']>['compilersFactory'] = {
  buildValidator: ((externalSchemas: Record<string, unknown>, options: unknown) => {
    const compile = (AjvCompiler() as unknown as AjvBuild)(externalSchemas, options)
    return (route: RouteSchema): Validator => {
      const validate = compile(route)
      if (route.httpPart !== 'body') return validate
      const validateBody: Validator = (data: unknown) => {
        if (isScannedBatch(data)) return true
        const valid = validate(data)
        validateBody.errors = validate.errors
        return valid
      }
      return validateBody
    }
  }) as never,
}

type RouteSchema = Parameters<FastifySchemaCompiler<unknown>>[0]
type Validator = ReturnType<FastifySchemaCompiler<unknown>>
/** What @fastify/ajv-compiler's factory returns at run time (its type declarations say otherwise). */
type AjvBuild = (externalSchemas: unknown, options: unknown) => FastifySchemaCompiler<unknown>

/** Room for the largest batch; each accepted body gets a copy of its part. */
const scratch = new Float64Array(MAX_BATCH)
const KEY = Buffer.from('"latency_ns"')

/** The index of the first byte at or after i that is not JSON whitespace (space, tab, LF, CR). */
function skipWhitespace(body: Buffer, i: number): number {
  let c = body[i]
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = body[++i]
  return i
}
