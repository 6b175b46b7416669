import type { FastifyInstance } from 'fastify'
import { InvalidJsonError } from './errors.js'

/**
 * The only body parser: plain JSON.parse. Fastify's default runs secure-json-parse,
 * which scans the text for "__proto__" and "constructor" on top of parsing — a
 * fifth of the cost of a 1,000-sample batch. That guard is for handlers that merge
 * bodies into other objects; ours are validated against schemas that refuse any
 * unknown key (a parsed "__proto__" is an own, enumerable key, so it is refused
 * too) and are never merged anywhere.
 *
 * An empty body is an error for a POST, and no body otherwise: a DELETE sent by
 * a client that always adds the header just works.
 */
export function parseJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(request.method === 'POST' ? new InvalidJsonError('the body is empty') : null, undefined)
    try {
      done(null, JSON.parse(body as string))
    } catch (err) {
      done(new InvalidJsonError((err as Error).message), undefined)
    }
  })
}
