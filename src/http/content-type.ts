import type { onRequestHookHandler } from 'fastify'
import { MissingContentTypeError } from './errors.js'

/**
 * Fastify routes a body-less request without Content-Type straight to the
 * handler (and then validation answers 400); the contract says 415, so write
 * routes check for the header before anything else. Other media types are
 * refused with 415 by Fastify itself, since only the JSON parser is registered.
 */
export const requireContentType: onRequestHookHandler = (request, _reply, done) => {
  done(request.headers['content-type'] === undefined ? new MissingContentTypeError() : undefined)
}
