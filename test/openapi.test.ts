import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../src/http/app.js'
import { MetricStore } from '../src/store/metric-store.js'

type Json = Record<string, any>

const open: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()))
})

/** Builds the service app, recording every route as Fastify registers it. */
async function appWithRoutes(): Promise<{ app: FastifyInstance; routes: Array<{ method: string; url: string }> }> {
  const app = buildApp(new MetricStore({ windowMs: 60_000, maxSamples: 10_000, maxMetrics: 10_000 }), { logLevel: 'silent' })
  open.push(app)
  const routes: Array<{ method: string; url: string }> = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })
  await app.ready()
  return { app, routes }
}

async function documentOf(app: FastifyInstance): Promise<Json> {
  const res = await app.inject({ url: '/docs/json' })
  expect(res.statusCode).toBe(200)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  return res.json()
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']

function operations(doc: Json): Array<{ path: string; method: string; op: Json }> {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op: op as Json })),
  )
}

/** The examples a media object or parameter gives: example, examples{}.value, or its schema's examples[]. */
function examplesOf(holder: Json): unknown[] {
  if (holder.example !== undefined) return [holder.example]
  if (holder.examples !== undefined) return Object.values(holder.examples as Json).map((e) => (e as Json).value)
  if (Array.isArray(holder.schema?.examples)) return holder.schema.examples
  if (holder.schema?.example !== undefined) return [holder.schema.example]
  return []
}

describe('OpenAPI document at /docs/json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const { app } = await appWithRoutes()
    const doc = await documentOf(app)
    expect(doc.openapi).toMatch(/^3\./)
    const validator = new Validator()
    const result = await validator.validate(doc)
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined()
    expect(result.valid).toBe(true)
    expect(validator.version).toMatch(/^3\./)
  })

  it('has every registered route with its methods (HEAD twins, the /docs routes and the dashboard files aside)', async () => {
    const { app, routes } = await appWithRoutes()
    const doc = await documentOf(app)
    const documented = operations(doc).map(({ path, method }) => `${method.toUpperCase()} ${path}`)
    const isPage = (url: string) => url === '/docs' || url.startsWith('/docs/') || url === '/' || url.startsWith('/dashboard/')
    const registered = routes.filter((r) => r.method !== 'HEAD' && !isPage(r.url)).map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`)
    expect(registered.length).toBeGreaterThanOrEqual(7)
    expect(documented.sort()).toEqual([...new Set(registered)].sort())
    // What was left out is only the automatic HEAD twins and the docs' and dashboard's own files.
    const left = routes.filter((r) => !registered.includes(`${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`))
    for (const r of left) expect(r.method === 'HEAD' || isPage(r.url), `${r.method} ${r.url}`).toBe(true)
  })

  it('gives every operation, parameter, body and response a one-line description and an example', async () => {
    const { app } = await appWithRoutes()
    const doc = await documentOf(app)
    const oneLine = (text: unknown, where: string) => {
      expect(typeof text === 'string' && text.trim() !== '' && !text.includes('\n'), `${where}: description ${JSON.stringify(text)}`).toBe(true)
    }
    for (const { path, method, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`
      oneLine(op.summary, where)
      for (const p of (op.parameters ?? []) as Json[]) {
        oneLine(p.description, `${where} parameter ${p.name}`)
        expect(examplesOf(p).length, `${where} parameter ${p.name}: example`).toBeGreaterThan(0)
      }
      if (op.requestBody !== undefined) {
        oneLine(op.requestBody.description, `${where} body`)
        for (const [type, media] of Object.entries(op.requestBody.content as Json)) {
          expect(examplesOf(media as Json).length, `${where} body ${type}: example`).toBeGreaterThan(0)
        }
      }
      for (const [status, response] of Object.entries(op.responses as Json)) {
        oneLine((response as Json).description, `${where} ${status}`)
        expect((response as Json).description).not.toBe('Default Response')
        for (const [type, media] of Object.entries(((response as Json).content ?? {}) as Json)) {
          expect(examplesOf(media as Json).length, `${where} ${status} ${type}: example`).toBeGreaterThan(0)
        }
      }
    }
  })

  it('every example is valid against its own schema', async () => {
    const { app } = await appWithRoutes()
    const doc = await documentOf(app)
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    let checked = 0
    const check = (holder: Json, where: string) => {
      if (holder.schema === undefined) return
      const validate = ajv.compile(holder.schema)
      for (const example of examplesOf(holder)) {
        expect(validate(example), `${where}: ${JSON.stringify(example)} ${ajv.errorsText(validate.errors)}`).toBe(true)
        checked++
      }
    }
    for (const { path, method, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`
      for (const p of (op.parameters ?? []) as Json[]) check(p, `${where} parameter ${p.name}`)
      for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json)) check(media as Json, `${where} body ${type}`)
      for (const [status, response] of Object.entries(op.responses as Json)) {
        for (const [type, media] of Object.entries(((response as Json).content ?? {}) as Json)) check(media as Json, `${where} ${status} ${type}`)
        for (const [name, header] of Object.entries(((response as Json).headers ?? {}) as Json)) check(header as Json, `${where} ${status} header ${name}`)
      }
    }
    expect(checked).toBeGreaterThan(40)
  })

  it('documents the three formats of GET /metrics, ?format=, and the statuses hooks answer with', async () => {
    const { app } = await appWithRoutes()
    const doc = await documentOf(app)
    const list = doc.paths['/metrics'].get
    expect(Object.keys(list.responses['200'].content)).toEqual(['application/json', 'text/plain; version=0.0.4', 'application/openmetrics-text; version=1.0.0'])
    expect(list.parameters.map((p: Json) => p.name)).toEqual(['window_ms', 'quantiles', 'status', 'le_ns', 'format'])
    expect(Object.keys(list.responses)).toEqual(['200', '400', '401', '503'])
    expect(Object.keys(doc.paths['/metrics/{id}/latency'].post.responses)).toEqual(['202', '400', '401', '403', '413', '415', '429', '503'])
    expect(Object.keys(doc.paths['/metrics/{id}'].delete.responses)).toEqual(['204', '400', '401', '403', '404', '413', '415', '503'])
    // A DELETE needs no body, but one that is sent is read as JSON: its errors are documented too.
    expect(Object.keys(doc.paths['/metrics'].delete.responses)).toEqual(['204', '400', '401', '403', '413', '415', '503'])
    // /healthz needs no token and reports overload itself.
    expect(doc.paths['/healthz'].get.security).toEqual([])
    expect(Object.keys(doc.paths['/healthz'].get.responses)).toEqual(['200', '503'])
  })

  it('declares the headers sent with answers: Retry-After on every 503, WWW-Authenticate on every 401, Vary on GET /metrics', async () => {
    const { app } = await appWithRoutes()
    const doc = await documentOf(app)
    let checked = 0
    for (const { path, method, op } of operations(doc)) {
      for (const [status, name] of [
        ['503', 'Retry-After'],
        ['401', 'WWW-Authenticate'],
      ]) {
        if (op.responses[status] === undefined) continue
        expect(op.responses[status].headers?.[name]?.schema, `${method.toUpperCase()} ${path} ${status}`).toBeDefined()
        checked++
      }
    }
    expect(checked).toBeGreaterThan(10)
    expect(doc.paths['/healthz'].get.responses['503'].headers['Retry-After'].schema.type).toBe('integer')
    expect(doc.paths['/metrics'].get.responses['200'].headers.Vary.schema.examples).toEqual(['Accept'])
    // What the server sends: the same names.
    const list = await app.inject({ method: 'GET', url: '/metrics' })
    expect(list.headers.vary).toBe('Accept')
  })
})

describe('/docs', () => {
  it('serves Swagger UI and its assets', async () => {
    const { app } = await appWithRoutes()
    const page = await app.inject({ url: '/docs' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.body).toContain('swagger-ui')
    const css = await app.inject({ url: '/docs/static/swagger-ui.css' })
    expect(css.statusCode).toBe(200)
    const initializer = await app.inject({ url: '/docs/static/swagger-initializer.js' })
    expect(initializer.statusCode).toBe(200)
    expect(initializer.body).toContain('./json')
  })

  it('the docs plugins add no per-request hook to other routes', async () => {
    const app = Fastify()
    open.push(app)
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 't', version: '1' } } })
    await app.register(swaggerUi, { routePrefix: '/docs' })
    app.get('/other', async () => 'ok')
    await app.ready()
    const tree = app.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n')
    const at = tree.findIndex((line) => line.includes('/other (GET)'))
    expect(at).toBeGreaterThanOrEqual(0)
    // Hooks are listed under a route as "• (hook) [...]" lines.
    expect(tree[at + 1] ?? '').not.toMatch(/•/)
  })
})
