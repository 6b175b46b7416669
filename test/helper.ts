import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterEach, expect } from 'vitest'
import { type AppOptions, buildApp } from '../src/http/app.js'

export const TEST_DEFAULTS: AppOptions = { windowMs: 60_000, maxSamples: 10_000, maxMetrics: 10_000, logLevel: 'silent' }

const open: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()))
})

/** Boots the app (no socket; use app.inject) and closes it after the current test. */
export async function build(options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const app = buildApp({ ...TEST_DEFAULTS, ...options })
  open.push(app)
  await app.ready()
  return app
}

/** A manual monotonic clock for window tests. */
export function manualClock(start = 1_000) {
  let t = start
  return {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
  }
}

/** POST a JSON body with the right content type. */
export function postJson(app: FastifyInstance, url: string, body: unknown) {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
}

/** POST a raw body as application/json (for malformed JSON and exact bytes). */
export function postJsonText(app: FastifyInstance, url: string, payload: string) {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload })
}

/** Asserts a JSON error in Fastify's shape with the given status; returns its message. */
export function expectError(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json()
  expect(body).toMatchObject({ statusCode: status, error: STATUS_CODES[status] })
  expect(typeof body.message).toBe('string')
  return body.message as string
}
