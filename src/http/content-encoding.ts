import { PassThrough, type Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import createError from '@fastify/error'
import { type FastifyRequest, type preParsingHookHandler, errorCodes } from 'fastify'

export const UnsupportedContentEncodingError = createError<[string]>(
  'LT_UNSUPPORTED_CONTENT_ENCODING',
  'content-encoding %s is not supported: send the body uncompressed or with Content-Encoding: gzip',
  415,
)

export const InvalidGzipError = createError<[string]>('LT_INVALID_GZIP', 'the body says Content-Encoding: gzip but is not valid gzip: %s', 400)

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The largest gzip body a route takes as sent; its bodyLimit applies after decoding. Default: the bodyLimit. */
    compressedBodyLimit?: number
  }
}

/** What a body is read from: with receivedEncodedLength, Content-Length is checked against the bytes as sent. */
export type BodyStream = Readable & { receivedEncodedLength?: number }

/**
 * Request bodies with a Content-Encoding (a step of the request gate, request-gate.ts):
 * gzip is decoded as it streams in; identity (or no header) passes untouched;
 * anything else is 415, never read as plain. Limits, per route: the body as
 * sent at most `config.compressedBodyLimit` (default: the route's bodyLimit),
 * the decoded body at most the route's bodyLimit. Inflating stops at the
 * limit, so a gzip bomb costs one zlib chunk (16 KiB) past it, never memory.
 *
 * A request without the header, which is nearly every one, costs one header
 * lookup here.
 */
export function decodeContentEncoding(request: FastifyRequest, payload: BodyStream, done: PayloadDone): void {
  const header = request.headers['content-encoding']
  if (header === undefined || !hasBody(request)) return done(null, payload)
  const codings = header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== 'identity' && c !== '')
  if (codings.length === 0) return done(null, payload)
  if (codings.length > 1 || (codings[0] !== 'gzip' && codings[0] !== 'x-gzip')) return done(new UnsupportedContentEncodingError(JSON.stringify(header)))
  const decodedLimit = request.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY
  const compressedLimit = request.routeOptions.config.compressedBodyLimit ?? decodedLimit
  if (Number(request.headers['content-length']) > compressedLimit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
  done(null, gunzipWithin(payload, compressedLimit, decodedLimit))
}

/** How a preParsing hook hands on the body stream (or an error). */
type PayloadDone = Parameters<preParsingHookHandler>[3]

/**
 * Bodiless requests (a GET or DELETE from a client that always sends the header)
 * have nothing to decode. Nor do GET and HEAD requests with a body: Fastify never
 * reads it, plain or encoded, so its encoding is not refused either.
 */
function hasBody(request: FastifyRequest): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** The decoded body of a gzip payload; errors with 413 past either limit and 400 when the bytes are not gzip. */
function gunzipWithin(payload: BodyStream, compressedLimit: number, decodedLimit: number): BodyStream {
  const gunzip = createGunzip()
  const body: PassThrough & BodyStream = new PassThrough()
  let encoded = 0
  let decoded = 0
  let failed = false
  body.receivedEncodedLength = 0
  // Fastify may answer without reading the body (a 415 for its content type): an error
  // after that must not be an unhandled 'error' event. Fastify adds its own listener when it reads.
  body.on('error', () => {})
  const fail = (err: Error) => {
    if (failed) return
    failed = true
    payload.unpipe(gunzip)
    gunzip.destroy()
    body.destroy(err)
  }
  payload.on('data', (chunk: Buffer) => {
    encoded += chunk.length
    body.receivedEncodedLength = encoded
    if (encoded > compressedLimit) fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
  })
  payload.on('error', fail)
  gunzip.on('data', (chunk: Buffer) => {
    if (failed) return
    decoded += chunk.length
    if (decoded > decodedLimit) return fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
    if (!body.write(chunk)) gunzip.pause()
  })
  body.on('drain', () => gunzip.resume())
  gunzip.on('end', () => {
    if (!failed) body.end()
  })
  gunzip.on('error', (err) => fail(new InvalidGzipError(err.message)))
  payload.pipe(gunzip)
  return body
}
