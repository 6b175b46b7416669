import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { build, expectError, postJson } from './helper.js'

const AUTH = 'full-access-token-123'
const READ = 'read-only-token-456'
const auth = (token: string) => ({ authorization: `Bearer ${token}` })

describe('bearer tokens', () => {
  it('leaves every route open when AUTH_TOKEN is unset', async () => {
    const app = await build()
    expect((await postJson(app, '/metrics/a/latency', { latency_ns: 5 })).statusCode).toBe(202)
    expect((await app.inject({ method: 'GET', url: '/metrics/a' })).statusCode).toBe(200)
  })

  it('answers 401 with WWW-Authenticate: Bearer and stores nothing without a valid token', async () => {
    const app = await build({ authToken: AUTH })
    for (const headers of [{}, auth('wrong'), { authorization: AUTH }, { authorization: `Basic ${AUTH}` }, auth('')]) {
      const res = await app.inject({
        method: 'POST',
        url: '/metrics/a/latency',
        headers: { 'content-type': 'application/json', ...headers },
        payload: '{"latency_ns":5}',
      })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/)
      expect(res.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' })
      expect(res.json().message).toMatch(/bearer token/)
    }
    for (const [method, url] of [
      ['GET', '/metrics'],
      ['GET', '/metrics/a'],
      ['DELETE', '/metrics'],
      ['DELETE', '/metrics/a'],
    ] as const) {
      expect((await app.inject({ method, url })).statusCode).toBe(401)
    }
    const list = await app.inject({ method: 'GET', url: '/metrics', headers: auth(AUTH) })
    expect(list.json().metrics).toEqual([])
  })

  it('says whether the token is missing, malformed or not valid', async () => {
    const app = await build({ authToken: AUTH })
    for (const [headers, problem] of [
      [{}, 'missing'],
      [{ authorization: `Bearer ${AUTH} extra` }, 'malformed'],
      [{ authorization: `Basic ${AUTH}` }, 'malformed'],
      [auth('wrong'), 'not valid'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers })
      expect(expectError(res, 401), JSON.stringify(headers)).toContain(`bearer token ${problem}`)
    }
  })

  it('checks the token before the Content-Type: 401 without one, 403 for a read token, 415 only past the token', async () => {
    const app = await build({ authToken: AUTH, readToken: READ })
    for (const route of ['latency', 'jobs']) {
      const post = (headers: Record<string, string>) => app.inject({ method: 'POST', url: `/metrics/a/${route}`, headers })
      expect((await post({})).statusCode).toBe(401)
      expect((await post(auth('wrong'))).statusCode).toBe(401)
      expect((await post(auth(READ))).statusCode).toBe(403)
      const past = await post(auth(AUTH))
      expect(past.statusCode).toBe(415)
      expect(past.json().code).toBe('LT_MISSING_CONTENT_TYPE')
    }
    expect((await app.inject({ method: 'POST', url: '/v1/traces', headers: auth(AUTH) })).statusCode).toBe(415)
    expect((await app.inject({ method: 'POST', url: '/v1/traces' })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/metrics/a', headers: auth(AUTH) })).statusCode).toBe(404)
  })

  it('keeps /healthz open', async () => {
    const app = await build({ authToken: AUTH })
    const res = await app.inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(200)
  })

  it('accepts AUTH_TOKEN everywhere, case-insensitive scheme', async () => {
    const app = await build({ authToken: AUTH, readToken: READ })
    const post = await app.inject({
      method: 'POST',
      url: '/metrics/a/latency',
      headers: { 'content-type': 'application/json', authorization: `bearer ${AUTH}` },
      payload: '{"latency_ns":[5,6]}',
    })
    expect(post.statusCode).toBe(202)
    expect((await app.inject({ method: 'GET', url: '/metrics/a', headers: auth(AUTH) })).json().total).toBe(2)
    expect((await app.inject({ method: 'DELETE', url: '/metrics/a', headers: auth(AUTH) })).statusCode).toBe(204)
  })

  it('accepts READ_TOKEN on GET only: writes and deletes are 403 and change nothing', async () => {
    const app = await build({ authToken: AUTH, readToken: READ })
    await app.inject({
      method: 'POST',
      url: '/metrics/a/latency',
      headers: { 'content-type': 'application/json', ...auth(AUTH) },
      payload: '{"latency_ns":[5,6]}',
    })
    expect((await app.inject({ method: 'GET', url: '/metrics/a', headers: auth(READ) })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: auth(READ) })).statusCode).toBe(200)
    const writes = [
      { method: 'POST' as const, url: '/metrics/a/latency', payload: '{"latency_ns":7}' },
      { method: 'POST' as const, url: '/metrics/a/jobs', payload: '{"event":"started"}' },
      { method: 'DELETE' as const, url: '/metrics/a' },
      { method: 'DELETE' as const, url: '/metrics' },
    ]
    for (const w of writes) {
      const res = await app.inject({ ...w, headers: { 'content-type': 'application/json', ...auth(READ) } })
      expect(res.statusCode).toBe(403)
      expect(res.json()).toMatchObject({ statusCode: 403, error: 'Forbidden' })
    }
    const after = (await app.inject({ method: 'GET', url: '/metrics/a', headers: auth(AUTH) })).json()
    expect(after.total).toBe(2)
    expect(after.jobs.started).toBe(0)
  })

  it('never writes a token to the logs, even with request logging on', async () => {
    const stream = new PassThrough()
    let logs = ''
    stream.on('data', (d: Buffer) => (logs += d.toString()))
    const app = await build({ authToken: AUTH, readToken: READ, logLevel: 'trace', logStream: stream })
    await app.inject({ method: 'GET', url: '/metrics', headers: auth(AUTH) })
    await app.inject({ method: 'POST', url: '/metrics/a/latency', headers: auth(READ) })
    await app.inject({ method: 'GET', url: '/metrics', headers: auth('guess') })
    expect(logs).toContain('incoming request')
    expect(logs).not.toContain(AUTH)
    expect(logs).not.toContain(READ)
    expect(logs).not.toContain('guess')
  })

  it("redacts the Authorization header wherever a request's headers are logged", async () => {
    const stream = new PassThrough()
    let logs = ''
    stream.on('data', (d: Buffer) => (logs += d.toString()))
    const app = await build({ authToken: AUTH, logLevel: 'info', logStream: stream })
    // Fastify's request serializer leaves headers out; these are the ways a log line could still carry them.
    app.log.info({ headers: { authorization: `Bearer ${AUTH}`, host: 'x' } }, 'raw headers')
    app.log.info({ request: { headers: { authorization: `Bearer ${AUTH}`, host: 'x' } } }, 'nested headers')
    expect(logs).toContain('[redacted]')
    expect(logs).toContain('"host":"x"')
    expect(logs).not.toContain(AUTH)
  })
})
