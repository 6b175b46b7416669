import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterEach, expect } from 'vitest'
import { type Config, loadConfig } from '../src/config.js'
import { type Service, type ServiceHooks, startService } from '../src/service.js'
import { MetricRemoved, type Series, TooManyPoints } from '../src/store/metric-store.js'

/** The service's defaults, on a free loopback port, silent. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const parsed = loadConfig([], {})
  if (parsed.help) throw new Error('unreachable')
  // StatsD off unless a test asks for it (statsdPort: 0): its default port 8125 is one port for all test files.
  return { ...parsed.config, port: 0, host: '127.0.0.1', logLevel: 'silent', statsdPort: 'off', ...overrides }
}

const running: Service[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.stop()))
})

/**
 * Starts the whole service in-process through the composition root (store, state
 * file, idle sweep, HTTP door on a free loopback port) and stops it after the
 * current test. Returns the HTTP app: use app.inject, or app.server's address.
 */
export async function build(options: Partial<Config> & ServiceHooks = {}): Promise<FastifyInstance> {
  const { logStream, now, ...config } = options
  const service = await startService(testConfig(config), { logStream, now })
  running.push(service)
  return service.http
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

/** The series the store computed; fails the test when the store refused it (too many points). */
export function computedSeries(series: Series | TooManyPoints | MetricRemoved): Series {
  if (series instanceof TooManyPoints) throw new Error(`the store refused the series: ${series.points} points`)
  if (series instanceof MetricRemoved) throw new Error('the metric was removed while its series was computed')
  return series
}
