import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ForbiddenError, UnauthorizedError } from './errors.js'

export interface TokenOptions {
  authToken?: string
  readToken?: string
}

/** Routes anyone may call: liveness must work without credentials. */
const OPEN_ROUTES = new Set(['/healthz'])
/** Methods a read-only token may use (the OpenAPI document marks the others as writes). */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD'])
const BEARER = /^Bearer +(\S+)$/i

/** Answers whether a request may pass; an error (401/403) when it may not. */
export type TokenCheck = (request: FastifyRequest, reply: FastifyReply) => Error | undefined

/**
 * Bearer tokens: AUTH_TOKEN opens every route but /healthz and the dashboard's
 * files (open to all); READ_TOKEN opens GET/HEAD only (a write with it is 403,
 * not 401: the caller is known but not allowed). @fastify/bearer-auth has no
 * read-only key nor a 401/403 split, so this is a small check of our own, run by
 * the request gate (request-gate.ts). Tokens are compared as SHA-256 digests with
 * timingSafeEqual: constant time, whatever their lengths. Undefined without tokens.
 */
export function tokenCheck(options: TokenOptions): TokenCheck | undefined {
  if (options.authToken === undefined) return undefined
  const full = digest(options.authToken)
  const read = options.readToken === undefined ? undefined : digest(options.readToken)
  return (request, reply) => {
    if (OPEN_ROUTES.has(request.routeOptions.url ?? '')) return undefined
    // The dashboard's static files (http/dashboard.ts) hold no data; the page asks for a token itself.
    if (request.routeOptions.config.dashboardFile === true && READ_METHODS.has(request.method)) return undefined
    const match = BEARER.exec(request.headers.authorization ?? '')
    const presented = match === null ? undefined : digest(match[1])
    const isFull = presented !== undefined && timingSafeEqual(presented, full)
    const isRead = presented !== undefined && read !== undefined && timingSafeEqual(presented, read)
    if (isFull || (isRead && READ_METHODS.has(request.method))) return undefined
    if (isRead) return new ForbiddenError(request.method)
    reply.header('www-authenticate', 'Bearer realm="latency-tracker"')
    return new UnauthorizedError(match !== null ? 'not valid' : request.headers.authorization === undefined ? 'missing' : 'malformed')
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}
