import type { FastifyInstance } from 'fastify'
import { MethodNotAllowedError, RouteNotFoundError } from './errors.js'

/**
 * Unknown routes answer 404 in the error shape, with a code; a path that exists
 * under other methods answers 405 with an Allow header naming them (RFC 9110).
 * The methods are collected from the routes as they are registered, so this is
 * called before any route. Requests that match no route get here, and those a
 * route passes on (a wildcard file route that finds no file).
 */
export function answerUnknownRoutes(app: FastifyInstance): void {
  const methods = new Set<string>()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) methods.add(method)
  })
  app.setNotFoundHandler((request, reply) => {
    const query = request.url.indexOf('?')
    const path = query === -1 ? request.url : request.url.slice(0, query)
    const allowed = [...methods].filter((method) => app.findRoute({ method, url: path }) !== null).sort()
    // A route that takes this method handed the request here itself (a file missing under /docs/static/*): 404.
    if (allowed.length === 0 || allowed.includes(request.method)) throw new RouteNotFoundError(request.method, path)
    reply.header('allow', allowed.join(', '))
    throw new MethodNotAllowedError(request.method, path, allowed.join(', '))
  })
}
