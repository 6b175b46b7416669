// The dashboard's files as the service serves them: headers, what loads without a
// token (and what does not), DASHBOARD=off. The page itself is tested in Chromium
// (dashboard-browser.test.ts).
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'
import { build } from './helper.js'

const AUTH = 'full-access-token-123'
const READ = 'read-only-token-456'
const SOURCE_DIR = new URL('../src/dashboard/', import.meta.url)
/** Overload answers (503) are not what these tests are about, and this machine is shared. */
const NO_OVERLOAD = { maxEventLoopDelayMs: 0 }
const UPLOT_DIR = new URL('.', `file://${createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js')}`)

/** Every file index.html asks for (scripts, stylesheets, icon), and the modules main.js imports. */
function pageFiles(): string[] {
  const html = readFileSync(new URL('public/index.html', SOURCE_DIR), 'utf8')
  const linked = [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1])
  const modules = readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `/dashboard/${f.replace(/\.ts$/, '.js')}`)
  return [...new Set([...linked, ...modules])]
}

describe('dashboard files', () => {
  it('serves the page at / with the security headers and no inline script', async () => {
    const app = await build(NO_OVERLOAD)
    const res = await app.inject({ url: '/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    const csp = String(res.headers['content-security-policy'])
    expect(csp.split(';').map((d) => d.trim())).toContain("default-src 'self'")
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/dashboard\//)
      expect(body.trim()).toBe('')
    }
    expect(res.body).not.toMatch(/\son[a-z]+=|javascript:|style="/i)
  })

  it('serves every file the page loads, with its type and the same headers', async () => {
    const app = await build(NO_OVERLOAD)
    const files = pageFiles()
    expect(files).toContain('/dashboard/main.js')
    expect(files).toContain('/dashboard/vendor/uPlot.iife.min.js')
    expect(files).toContain('/dashboard/favicon.svg')
    for (const url of files) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(200)
      const type = url.endsWith('.js') ? /^(text|application)\/javascript/ : url.endsWith('.css') ? /^text\/css/ : /^image\/svg\+xml/
      expect(res.headers['content-type'], url).toMatch(type)
      expect(res.headers['x-content-type-options'], url).toBe('nosniff')
      expect(String(res.headers['content-security-policy']), url).toContain("default-src 'self'")
    }
  })

  it('serves uPlot from its npm package, byte for byte', async () => {
    const app = await build(NO_OVERLOAD)
    for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
      const res = await app.inject({ url: `/dashboard/vendor/${file}` })
      expect(res.statusCode).toBe(200)
      expect(res.rawPayload.equals(readFileSync(new URL(file, UPLOT_DIR)))).toBe(true)
    }
  })

  it('puts the headers on the dashboard only, not on the API', async () => {
    const app = await build(NO_OVERLOAD)
    for (const url of ['/metrics', '/healthz']) {
      const res = await app.inject({ url })
      expect(res.headers['content-security-policy'], url).toBeUndefined()
    }
  })

  it('loads its files without a token when AUTH_TOKEN is set; everything else still needs one', async () => {
    const app = await build({ ...NO_OVERLOAD, authToken: AUTH, readToken: READ })
    for (const url of ['/', ...pageFiles()]) {
      expect((await app.inject({ url })).statusCode, url).toBe(200)
      expect((await app.inject({ method: 'HEAD', url })).statusCode, `HEAD ${url}`).toBe(200)
    }
    const closed = [
      ['GET', '/metrics'],
      ['GET', '/metrics/a'],
      ['GET', '/metrics/a/series'],
      ['GET', '/dashboard/no-such-file.js'],
      ['GET', '/dashboard/'],
      ['GET', '/dashboard/../metrics'],
      ['GET', '/dashboard/%2e%2e/%2e%2e/package.json'],
      ['GET', '/dashboard/vendor/uPlot.esm.js'],
      ['POST', '/'],
      ['DELETE', '/'],
      ['POST', '/dashboard/main.js'],
      ['DELETE', '/dashboard/main.js'],
    ] as const
    for (const [method, url] of closed) {
      const res = await app.inject({ method, url })
      expect(res.statusCode, `${method} ${url}`).toBe(401)
    }
    // With a token, the files the dashboard does not have are simply not there.
    for (const url of ['/dashboard/no-such-file.js', '/dashboard/vendor/uPlot.esm.js', '/dashboard/%2e%2e/%2e%2e/package.json']) {
      const res = await app.inject({ url, headers: { authorization: `Bearer ${READ}` } })
      expect(res.statusCode, url).toBe(404)
    }
  })

  it('is gone with DASHBOARD=off', async () => {
    const app = await build({ ...NO_OVERLOAD, dashboard: 'off' })
    for (const url of ['/', '/dashboard/main.js', '/dashboard/vendor/uPlot.iife.min.js', '/dashboard/favicon.svg']) {
      expect((await app.inject({ url })).statusCode, url).toBe(404)
    }
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200)
  })

  it('reads DASHBOARD and --dashboard: on (the default) or off', () => {
    const dashboard = (argv: string[], env: NodeJS.ProcessEnv) => {
      const parsed = loadConfig(argv, env)
      return parsed.help ? undefined : parsed.config.dashboard
    }
    expect(dashboard([], {})).toBe('on')
    expect(dashboard([], { DASHBOARD: 'off' })).toBe('off')
    expect(dashboard(['--dashboard', 'off'], { DASHBOARD: 'on' })).toBe('off')
    expect(dashboard(['--dashboard', 'on'], { DASHBOARD: 'off' })).toBe('on')
    for (const bad of ['', 'yes', 'OFF', '0']) {
      expect(() => loadConfig([], { DASHBOARD: bad }), bad).toThrow(ConfigError)
    }
    expect(() => loadConfig([], { DASHBOARD: 'yes' })).toThrow(/DASHBOARD must be one of on, off, got "yes"/)
  })

  it('puts text into the page as text: no HTML sinks in the browser code', () => {
    for (const file of readdirSync(SOURCE_DIR).filter((f) => f.endsWith('.ts'))) {
      const code = readFileSync(new URL(file, SOURCE_DIR), 'utf8')
      expect(code, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/)
    }
  })
})
