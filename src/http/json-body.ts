import type { FastifyInstance, FastifyRequest } from 'fastify'
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
 *
 * With `fastPath`, the raw bytes go to it first, and the text to JSON.parse only
 * when it declines (returns undefined); see batch-body.ts.
 */
export function parseJsonBodies(app: FastifyInstance, fastPath?: (body: Buffer) => object | undefined): void {
  app.removeContentTypeParser('application/json')
  if (fastPath === undefined) {
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => done(...parseJson(request, body as string)))
    return
  }
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const parsed = fastPath(body as Buffer)
    if (parsed !== undefined) done(null, parsed)
    else done(...parseJson(request, (body as Buffer).toString('utf8')))
  })
}

function parseJson(request: FastifyRequest, text: string): [Error | null, unknown] {
  if (text === '') return [request.method === 'POST' ? new InvalidJsonError('the body is empty') : null, undefined]
  try {
    return [null, JSON.parse(text)]
  } catch (err) {
    return [new InvalidJsonError((err as Error).message), undefined]
  }
}
