// The dashboard end to end in real headless Chromium (Debian's `chromium`, driven by
// playwright-core): the numbers the page shows are the JSON API's, sorting, filtering,
// both charts drawn, the SLO share, live updates, a stopped service, the token flow.
// Screenshots of each view go to $TMPDIR/latency-tracker-dashboard/.
import { existsSync, mkdirSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exactNs, formatNs } from '../src/dashboard/format.js'
import { type Service, startService } from '../src/service.js'
import { build, postJson, testConfig } from './helper.js'
import { spawnServer } from './spawn-server.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]
const SCREENSHOTS = join(tmpdir(), 'latency-tracker-dashboard')
const AUTH = 'full-access-token-123'
const READ = 'read-only-token-456'
/** 15 minutes, so that the window selector offers 1, 5 and 15 min (and not 1 h). */
const WINDOW_MS = 900_000
const BROWSER_TEST_MS = 120_000

/** Why Chromium cannot run here, or null when it launches. */
async function chromiumProblem(): Promise<string | null> {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (Debian: apt-get install chromium)`
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 })
    await browser.close()
    return null
  } catch (err) {
    return `${CHROMIUM} does not launch: ${(err as Error).message.split('\n')[0]}`
  }
}

const problem = await chromiumProblem()
if (problem !== null) console.warn(`[dashboard-browser] skipping the browser tests: ${problem}`)

/**
 * The little of the DOM that the functions run inside the page use: this program is
 * type-checked without the DOM library (it is Node code), so they are declared here.
 */
interface PageElement {
  readonly textContent: string | null
  getAttribute(name: string): string | null
  querySelector(selector: string): PageElement | null
  querySelectorAll(selector: string): Iterable<PageElement>
}
interface PageCanvas extends PageElement {
  readonly width: number
  readonly height: number
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null
}
declare const document: PageElement & { dispatchEvent(event: Event): boolean }
declare const sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }
declare const location: { hash: string }
declare function getComputedStyle(element: PageElement): { borderTopColor: string }

interface Snapshot {
  id: string
  window_ms: number
  count: number
  p50_ns: number | null
  p95_ns: number | null
  p99_ns: number | null
  max_ns: number | null
  quantiles?: Record<string, number | null>
  le?: Record<string, { count: number; fraction: number | null }>
  statuses: Record<string, number>
  errors: number
  error_rate: number | null
  jobs: Record<string, number>
}
interface MetricList {
  metrics: Snapshot[]
  service: { metrics: number; limits: { window_ms: number } }
}

/** A deterministic pseudo-random source (the numbers themselves are never expected values: the API gives those). */
function seeded(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s / 2 ** 31
  }
}

/**
 * Fills the store through the HTTP API over 15 minutes of the store's clock: ids
 * with different speeds and statuses, one id with jobs only (an empty window).
 */
async function loadSamples(app: FastifyInstance, clock: { now: number }, token?: string): Promise<void> {
  const random = seeded(42)
  const latency = (base: number) => Math.max(1, Math.round(base * Math.exp(1.2 * (random() + random() + random() - 1.5))))
  const start = clock.now
  const headers = { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
  const send = async (url: string, body: unknown) => {
    const res = await app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body) })
    expect(res.statusCode, res.body).toBe(202)
  }
  const post = (id: string, values: number[], status: number[]) => send(`/metrics/${id}/latency`, { latency_ns: values, status })
  // One batch per id every 15 s: one per step of the metric view's charts (the window / 60).
  for (let step = 0; step < 60; step++) {
    clock.now = start + step * 15_000
    // A slow patch in the middle of checkout's window, so its p99 moves.
    const slow = step > 26 && step < 37 ? 6 : 1
    const checkout = Array.from({ length: 20 }, () => latency(2_000_000 * slow))
    await post(
      'checkout',
      checkout,
      checkout.map((v) => (v > 15_000_000 ? 503 : 200)),
    )
    const search = Array.from({ length: 10 }, () => latency(20_000_000))
    await post(
      'search',
      search,
      search.map(() => 200),
    )
    const login = Array.from({ length: 30 }, () => latency(400_000))
    await post(
      'login',
      login,
      login.map(() => (random() < 0.05 ? 401 : random() < 0.01 ? 500 : 200)),
    )
    if (step >= 40) await post('payments.refund', [latency(80_000_000), latency(80_000_000)], [200, 502])
  }
  for (const [event, count] of [
    ['created', 5],
    ['started', 4],
    ['completed', 1],
  ] as const) {
    await send('/metrics/nightly-export/jobs', { event, count })
  }
  clock.now = start + WINDOW_MS - 1_000
}

async function json<T>(app: FastifyInstance, url: string, token?: string): Promise<T> {
  const res = await app.inject({ url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  expect(res.statusCode, res.body).toBe(200)
  return res.json<T>()
}

function baseUrl(app: FastifyInstance): string {
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
  return `http://127.0.0.1:${address.port}`
}

/**
 * A request with its path sent as written: fetch and app.inject resolve the path
 * segments "." and "..", so only this reaches the ids "." and "..".
 */
function sendAsIs(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base)
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (data += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }))
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** What went wrong while a page loaded: console errors, uncaught exceptions, failed requests, HTTP errors. */
function watch(page: Page): string[] {
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (err) => problems.push(`exception: ${err.message}`))
  page.on('requestfailed', (r) => {
    // ERR_ABORTED: cancelled by the test's own next navigation (a reload while the favicon loads).
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`)
  })
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`)
  })
  return problems
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** Ids of the rows shown (not filtered out), in order. */
function shownIds(page: Page): Promise<string[]> {
  return page.$$eval('#metrics tbody tr[data-id]:not([hidden])', (rows: PageElement[]) => rows.map((r) => r.getAttribute('data-id') ?? ''))
}

function cellAttr(page: Page, id: string, col: string, name: string): Promise<string | null> {
  return page.getAttribute(`#metrics tr[data-id="${id}"] td[data-col="${col}"]`, name)
}

/** `values` ordered as the page must sort them: by value in `dir`, empty values last, then by id. */
function expectedOrder(snapshots: Snapshot[], value: (s: Snapshot) => number | string | null, dir: 'asc' | 'desc'): string[] {
  const sign = dir === 'asc' ? 1 : -1
  return [...snapshots]
    .sort((a, b) => {
      const x = value(a)
      const y = value(b)
      if (x === null || y === null) return x === y ? (a.id < b.id ? -1 : 1) : x === null ? 1 : -1
      if (x !== y) return x < y ? -sign : sign
      return a.id < b.id ? -1 : 1
    })
    .map((s) => s.id)
}

/**
 * How many pixels of a chart's canvas have each legend series' colour (within a
 * small tolerance for antialiasing): a series that drew has many.
 */
async function pixelsPerSeries(page: Page, chart: string): Promise<Record<string, number>> {
  return page.evaluate((selector) => {
    const root = document.querySelector(selector)
    const canvas = root?.querySelector('canvas') as PageCanvas | null | undefined
    if (canvas === null || canvas === undefined) throw new Error(`${selector}: no canvas`)
    const context = canvas.getContext('2d')
    if (context === null) throw new Error(`${selector}: no 2d context`)
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height)
    const counts: Record<string, number> = {}
    // The legend's first entry is the x axis (time); the others are the series, with their colours.
    for (const series of root?.querySelectorAll('.u-legend .u-series:not(:first-child)') ?? []) {
      const label = series.querySelector('.u-label')?.textContent ?? ''
      const marker = series.querySelector('.u-marker')
      if (label === '' || marker === null) continue
      const rgb = (getComputedStyle(marker).borderTopColor.match(/\d+/g) ?? []).map(Number)
      let n = 0
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) < 12 && Math.abs(data[i + 1] - rgb[1]) < 12 && Math.abs(data[i + 2] - rgb[2]) < 12) n++
      }
      counts[label] = n
    }
    return counts
  }, chart)
}

describe.skipIf(problem !== null)('dashboard in Chromium', () => {
  let browser: Browser
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
  })

  /** A fresh context (own sessionStorage and localStorage) and page, closed after the test. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    contexts.push(context)
    return context.newPage()
  }

  async function closePages(): Promise<void> {
    await Promise.all(contexts.splice(0).map((c) => c.close()))
  }

  async function startLoaded(options: Parameters<typeof build>[0] = {}, token?: string) {
    const clock = { now: Date.now() - WINDOW_MS }
    const app = await build({ windowMs: WINDOW_MS, maxEventLoopDelayMs: 0, now: () => clock.now, ...options })
    await loadSamples(app, clock, token)
    return { app, clock, base: baseUrl(app) }
  }

  it(
    'overview: every row shows the JSON snapshot; sorts by every column; filters as you type; updates on refresh',
    async () => {
      const { app, base } = await startLoaded()
      try {
        const page = await newPage()
        const problems = watch(page)
        await page.goto(`${base}/`)
        const list = await json<MetricList>(app, '/metrics')
        expect(list.metrics.length).toBe(5)
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await shownIds(page)).toEqual(list.metrics.map((s) => s.id))

        for (const s of list.metrics) {
          for (const [col, ns] of [
            ['p50', s.p50_ns],
            ['p95', s.p95_ns],
            ['p99', s.p99_ns],
            ['max', s.max_ns],
          ] as const) {
            const cell = `#metrics tr[data-id="${s.id}"] td[data-col="${col}"]`
            expect(await page.getAttribute(cell, 'data-ns'), `${s.id} ${col}`).toBe(ns === null ? null : String(ns))
            expect(await page.textContent(cell), `${s.id} ${col}`).toBe(formatNs(ns))
            expect(await page.getAttribute(cell, 'title'), `${s.id} ${col}`).toBe(exactNs(ns))
          }
          expect(await cellAttr(page, s.id, 'count', 'data-value')).toBe(String(s.count))
          expect(await cellAttr(page, s.id, 'error_rate', 'data-value')).toBe(s.error_rate === null ? null : String(s.error_rate))
          expect(await cellAttr(page, s.id, 'in_progress', 'data-value')).toBe(String(s.jobs.in_progress))
        }
        // The id with jobs only: an empty window shows dashes, not 0.
        expect(await page.textContent('#metrics tr[data-id="nightly-export"] td[data-col="p99"]')).toBe('–')
        expect(await page.textContent('#metrics tr[data-id="nightly-export"] td[data-col="error_rate"]')).toBe('–')
        expect(await page.textContent('#metrics tr[data-id="nightly-export"] td[data-col="in_progress"]')).toBe('3')

        // Sparklines: every row with samples draws one, from GET /metrics/:id/series.
        for (const s of list.metrics.filter((m) => m.count > 0)) {
          await page.waitForSelector(`#metrics tr[data-id="${s.id}"] td[data-col="trend"] canvas`)
          const step = Math.ceil(WINDOW_MS / 30)
          const series = await json<{ points: Array<{ p99_ns: number | null }> }>(app, `/metrics/${s.id}/series?step_ms=${step}`)
          const peak = Math.max(...series.points.map((p) => p.p99_ns ?? 0))
          expect(await cellAttr(page, s.id, 'trend', 'data-peak-ns'), s.id).toBe(String(peak))
        }
        expect(problems).toEqual([])
        await screenshot(page, 'overview')

        // Sorting: every column, first click descending (id: ascending), second click the other way.
        const sortValues: Record<string, (s: Snapshot) => number | string | null> = {
          count: (s) => s.count,
          rate: (s) => s.count,
          p50: (s) => s.p50_ns,
          p95: (s) => s.p95_ns,
          p99: (s) => s.p99_ns,
          max: (s) => s.max_ns,
          error_rate: (s) => s.error_rate,
          in_progress: (s) => s.jobs.in_progress,
        }
        for (const [key, value] of Object.entries(sortValues)) {
          await page.click(`button[data-sort="${key}"]`)
          expect(await shownIds(page), `${key} desc`).toEqual(expectedOrder(list.metrics, value, 'desc'))
          await page.click(`button[data-sort="${key}"]`)
          expect(await shownIds(page), `${key} asc`).toEqual(expectedOrder(list.metrics, value, 'asc'))
        }
        await page.click('button[data-sort="trend"]')
        const peaks = new Map<string, number | null>()
        for (const s of list.metrics) {
          const peak = await cellAttr(page, s.id, 'trend', 'data-peak-ns')
          peaks.set(s.id, peak === null ? null : Number(peak))
        }
        expect(await shownIds(page)).toEqual(expectedOrder(list.metrics, (s) => peaks.get(s.id) ?? null, 'desc'))
        await page.click('button[data-sort="id"]')
        expect(await shownIds(page)).toEqual(expectedOrder(list.metrics, (s) => s.id, 'asc'))
        await page.click('button[data-sort="id"]')
        expect(await shownIds(page)).toEqual(expectedOrder(list.metrics, (s) => s.id, 'desc'))
        // The sort is in the URL: a reload keeps it.
        await page.click('button[data-sort="p99"]')
        expect(page.url()).toContain('sort=p99')
        await page.reload()
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await shownIds(page)).toEqual(expectedOrder(list.metrics, (s) => s.p99_ns, 'desc'))

        // Filter as you type: shown and held counts follow.
        await page.fill('input[type="search"]', '')
        await page.locator('input[type="search"]').pressSequentially('ch')
        const matching = list.metrics.map((s) => s.id).filter((id) => id.includes('ch'))
        expect(matching.length).toBeGreaterThan(0)
        expect((await shownIds(page)).sort()).toEqual(matching.sort())
        expect(await page.getAttribute('#counts', 'data-shown')).toBe(String(matching.length))
        expect(await page.getAttribute('#counts', 'data-held')).toBe(String(list.service.metrics))
        await page.fill('input[type="search"]', 'no-such-id')
        expect(await shownIds(page)).toEqual([])
        expect(await page.textContent('#metrics tbody')).toContain('No id matches')
        await page.fill('input[type="search"]', '')
        expect((await shownIds(page)).length).toBe(5)

        // The service block.
        expect(await page.textContent('#service [data-field="ids held"] dd')).toBe(`${list.service.metrics} of 10,000`)

        // New samples show on the next refresh.
        const before = list.metrics.find((s) => s.id === 'search')?.count ?? 0
        expect((await postJson(app, '/metrics/search/latency', { latency_ns: [1, 2, 3], status: [200, 200, 200] })).statusCode).toBe(202)
        await page.waitForSelector(`#metrics tr[data-id="search"] td[data-col="count"][data-value="${before + 3}"]`)
        const after = await json<Snapshot>(app, '/metrics/search')
        expect(after.count).toBe(before + 3)
        expect(await cellAttr(page, 'search', 'p50', 'data-ns')).toBe(String(after.p50_ns))
        expect(problems).toEqual([])
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'metric view: both charts draw, the SLO share is le_ns, controls live in the URL (reload, back/forward)',
    async () => {
      const { app, base } = await startLoaded()
      try {
        const page = await newPage()
        const problems = watch(page)
        await page.goto(`${base}/#/metrics/checkout`)
        await page.waitForSelector('#summary [data-field="count"] dd[data-value]')
        const snapshot = await json<Snapshot>(app, '/metrics/checkout')
        expect(await page.textContent('#metric-id')).toBe('checkout')
        expect(await page.getAttribute('#summary [data-field="count"] dd', 'data-value')).toBe(String(snapshot.count))
        for (const [field, ns] of [
          ['p50', snapshot.p50_ns],
          ['p95', snapshot.p95_ns],
          ['p99', snapshot.p99_ns],
          ['max', snapshot.max_ns],
        ] as const) {
          expect(await page.getAttribute(`#summary [data-field="${field}"] dd`, 'data-ns'), field).toBe(String(ns))
          expect(await page.getAttribute(`#summary [data-field="${field}"] dd`, 'title'), field).toBe(exactNs(ns))
        }
        expect(await page.getAttribute('#summary [data-field="error_rate"] dd', 'data-value')).toBe(String(snapshot.error_rate))
        for (const [status, n] of Object.entries(snapshot.statuses)) {
          expect(await page.textContent(`#statuses tr[data-status="${status}"] td`)).toBe(n.toLocaleString('en-US'))
        }
        for (const [event, n] of Object.entries(snapshot.jobs)) {
          expect(await page.textContent(`#jobs tr[data-job="${event}"] td`)).toBe(n.toLocaleString('en-US'))
        }

        // Both charts drew: each series left pixels of its colour on the canvas.
        const latency = await pixelsPerSeries(page, '#latency-chart')
        expect(Object.keys(latency)).toEqual(['p50', 'p95', 'p99'])
        for (const [series, n] of Object.entries(latency)) expect(n, `latency chart ${series}`).toBeGreaterThan(20)
        const counts = await pixelsPerSeries(page, '#count-chart')
        expect(Object.keys(counts)).toEqual(['samples', 'errors'])
        expect(snapshot.errors).toBeGreaterThan(0)
        for (const [series, n] of Object.entries(counts)) expect(n, `count chart ${series}`).toBeGreaterThan(20)
        expect(problems).toEqual([])

        // Window choices: 1 min, 5 min and the whole 15 min window; nothing beyond WINDOW_MS.
        const windows = await page.$$eval('#window option', (options: PageElement[]) => options.map((o) => o.getAttribute('value')))
        expect(windows).toEqual(['60000', '300000', ''])

        // SLO threshold: the share shown is le_ns's exact fraction.
        await page.fill('#slo', '3')
        await page.selectOption('#slo-unit', '1000000')
        await page.press('#slo', 'Enter')
        await expect.poll(() => page.url()).toContain('le_ns=3000000')
        const withLe = await json<Snapshot>(app, '/metrics/checkout?le_ns=3000000')
        const fraction = withLe.le?.['3000000']?.fraction
        expect(typeof fraction).toBe('number')
        await page.waitForSelector(`#slo-share[data-fraction="${fraction}"]`)

        // Status: only 5xx samples count, as in the API with the same parameter.
        await page.selectOption('#status', '5xx')
        await expect.poll(() => page.url()).toContain('status=5xx')
        const errorsOnly = await json<Snapshot>(app, '/metrics/checkout?status=5xx')
        expect(errorsOnly.count).toBeGreaterThan(0)
        expect(errorsOnly.count).toBeLessThan(snapshot.count)
        await page.waitForSelector(`#summary [data-field="count"] dd[data-value="${errorsOnly.count}"]`)

        // Extra quantiles: a summary value and a chart series each.
        await page.fill('#quantiles', '0.9')
        await page.press('#quantiles', 'Enter')
        const withQ = await json<Snapshot>(app, '/metrics/checkout?status=5xx&quantiles=0.9')
        const q = withQ.quantiles?.['0.9']
        expect(typeof q).toBe('number')
        await page.waitForSelector(`#summary [data-field="q0.9"] dd[data-ns="${q}"]`)
        expect(Object.keys(await pixelsPerSeries(page, '#latency-chart'))).toEqual(['p50', 'p95', 'p99', 'q0.9'])
        await screenshot(page, 'metric-filtered')

        // Window: the last 5 minutes hold no 5xx sample (the slow patch is earlier): dashes, not 0.
        await page.selectOption('#window', '300000')
        await expect.poll(() => page.url()).toContain('window_ms=300000')
        const lastFive = await json<Snapshot>(app, '/metrics/checkout?window_ms=300000&status=5xx&quantiles=0.9')
        expect(lastFive.count, 'the test data has no 5xx in the last 5 minutes').toBe(0)
        await page.waitForSelector('#summary [data-field="count"] dd[data-value="0"]')
        for (const field of ['p50', 'p99', 'max', 'error_rate', 'q0.9']) {
          expect(await page.textContent(`#summary [data-field="${field}"] dd`), field).toBe('–')
          expect(await page.getAttribute(`#summary [data-field="${field}"] dd`, 'data-ns'), field).toBeNull()
        }

        // Back: the status filter goes away again; forward brings it back; a reload keeps the state.
        await page.goBack() // before the window
        await page.goBack() // before the quantiles
        await page.goBack() // before the status filter
        await expect.poll(() => page.url()).not.toContain('status=')
        expect(await page.inputValue('#status')).toBe('')
        await page.waitForSelector(`#summary [data-field="count"] dd[data-value="${snapshot.count}"]`)
        await page.goForward()
        await page.waitForSelector(`#summary [data-field="count"] dd[data-value="${errorsOnly.count}"]`)
        expect(await page.inputValue('#status')).toBe('5xx')
        await page.reload()
        await page.waitForSelector(`#summary [data-field="count"] dd[data-value="${errorsOnly.count}"]`)
        expect(await page.inputValue('#status')).toBe('5xx')
        expect(await page.inputValue('#window')).toBe('')
        expect(await page.inputValue('#slo')).toBe('3')
        expect(await page.inputValue('#slo-unit')).toBe('1000000')

        // The link back to the overview.
        await page.click('a[href="#/"]')
        await page.waitForSelector('#metrics tr[data-id="checkout"]')
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'metric view screenshot, with an SLO threshold and an extra quantile',
    async () => {
      const { base } = await startLoaded()
      try {
        const page = await newPage()
        const problems = watch(page)
        await page.goto(`${base}/#/metrics/checkout?quantiles=0.9&le_ns=10000000`)
        await page.waitForSelector('#slo-share[data-fraction]')
        await page.waitForSelector('#count-chart canvas')
        expect(problems).toEqual([])
        await screenshot(page, 'metric')
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'refresh: the control changes the period or turns it off; hidden tabs do not poll; a stopped service shows as failed',
    async () => {
      const service: Service = await startService(testConfig({ maxEventLoopDelayMs: 0 }))
      let stopped = false
      try {
        expect((await postJson(service.http, '/metrics/checkout/latency', { latency_ns: [1000, 2000] })).statusCode).toBe(202)
        const page = await newPage()
        const problems = watch(page)
        let polls = 0
        page.on('request', (r) => {
          if (new URL(r.url()).pathname === '/metrics') polls++
        })
        await page.goto(`${service.address}/`)
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await page.inputValue('#refresh-every')).toBe('2000')
        expect(problems).toEqual([])

        // Every second: polls keep coming.
        await page.selectOption('#refresh-every', '1000')
        const start = polls
        await expect.poll(() => polls - start, { timeout: 15_000 }).toBeGreaterThanOrEqual(2)

        // A hidden tab does not poll; showing it again refreshes at once.
        await page.evaluate(() => {
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' })
          document.dispatchEvent(new Event('visibilitychange'))
        })
        await page.waitForTimeout(500) // a request already under way may still finish
        const hiddenAt = polls
        await page.waitForTimeout(3000)
        expect(polls, 'polls while hidden').toBe(hiddenAt)
        await page.evaluate(() => {
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => false })
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' })
          document.dispatchEvent(new Event('visibilitychange'))
        })
        await expect.poll(() => polls, { timeout: 10_000 }).toBeGreaterThan(hiddenAt)

        // Off: no polling until "Refresh now".
        await page.selectOption('#refresh-every', '0')
        await page.waitForTimeout(500)
        const offAt = polls
        await page.waitForTimeout(3000)
        expect(polls, 'polls with refresh off').toBe(offAt)
        await page.click('#refresh-now')
        await expect.poll(() => polls, { timeout: 10_000 }).toBe(offAt + 1)
        // The choice is kept for the next visit.
        await page.reload()
        expect(await page.inputValue('#refresh-every')).toBe('0')
        await page.selectOption('#refresh-every', '1000')
        await page.waitForSelector('#refresh-status[data-state="ok"]')

        // The service goes away: the page says so, with the time of the data it still shows.
        await service.stop()
        stopped = true
        await page.waitForSelector('#refresh-status[data-state="failed"]', { timeout: 15_000 })
        const status = await page.textContent('#refresh-status')
        expect(status).toMatch(/Refresh failed at \d\d:\d\d:\d\d: the service did not answer/)
        expect(status).toMatch(/Data shown is from \d\d:\d\d:\d\d/)
        expect(await page.getAttribute('body', 'class')).toContain('stale')
        expect(await page.$('#metrics tr[data-id="checkout"]')).not.toBeNull()
        await screenshot(page, 'service-down')
      } finally {
        await closePages()
        if (!stopped) await service.stop()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'token flow: static files load without a token, the page asks once, keeps it for the tab, asks again on 401; READ_TOKEN is enough',
    async () => {
      const { app, base } = await startLoaded({ authToken: AUTH, readToken: READ }, AUTH)
      try {
        const page = await newPage()
        const problems = watch(page)
        await page.goto(`${base}/`)
        await page.waitForSelector('#token-dialog[open]')
        await screenshot(page, 'token')
        // A wrong token is refused and asked for again.
        await page.fill('#token-input', 'not-the-token')
        await page.press('#token-input', 'Enter')
        await page.waitForSelector('#token-reason:has-text("refused")')
        await page.waitForSelector('#token-dialog[open]')
        // The read-only token opens the page.
        await page.fill('#token-input', READ)
        await page.press('#token-input', 'Enter')
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        const list = await json<MetricList>(app, '/metrics', READ)
        expect(await shownIds(page)).toEqual(list.metrics.map((s) => s.id))
        expect(await page.evaluate(() => sessionStorage.getItem('latency-tracker.token'))).toBe(READ)
        // Only the token exchanges failed: 401s on API routes before a valid token, nothing else.
        expect(problems.length).toBeGreaterThan(0)
        for (const p of problems)
          expect(p).toMatch(/^(HTTP 401: http:\/\/127\.0\.0\.1:\d+\/metrics|console: Failed to load resource: the server responded with a status of 401)/)
        problems.length = 0

        // Kept for the tab: a reload asks nothing.
        await page.reload()
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await page.$('#token-dialog[open]')).toBeNull()
        expect(problems).toEqual([])
        await page.click('a[href^="#/metrics/checkout"]')
        await page.waitForSelector('#summary [data-field="count"] dd[data-value]')
        expect(problems).toEqual([])

        // A token that stops working (here: replaced in storage) makes the page ask again.
        await page.evaluate(() => sessionStorage.setItem('latency-tracker.token', 'revoked'))
        await page.click('#refresh-now')
        await page.waitForSelector('#token-dialog[open]')
        await page.fill('#token-input', AUTH)
        await page.press('#token-input', 'Enter')
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await page.evaluate(() => sessionStorage.getItem('latency-tracker.token'))).toBe(AUTH)

        // Cancel: the page says a token is needed and stops asking until "Refresh now".
        const other = await newPage()
        await other.goto(`${base}/`)
        await other.waitForSelector('#token-dialog[open]')
        await other.click('#token-cancel')
        await other.waitForSelector('#refresh-status[data-state="failed"]')
        expect(await other.textContent('#refresh-status')).toContain('needs a token')
        await other.click('#refresh-now')
        await other.waitForSelector('#token-dialog[open]')
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'a service that stops answering but keeps its connections (SIGSTOP) shows as failed, and recovers when it answers again',
    async () => {
      const server = await spawnServer({ MAX_EVENT_LOOP_DELAY_MS: '0' })
      try {
        const page = await newPage()
        await page.goto(`${server.url}/`)
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        server.child.kill('SIGSTOP')
        // The page gives a request 10 s (api.ts, ANSWER_WITHIN_MS), after the next refresh starts.
        await page.waitForSelector('#refresh-status[data-state="failed"]', { timeout: 20_000 })
        expect(await page.textContent('#refresh-status')).toMatch(
          /^Refresh failed at \d\d:\d\d:\d\d: the service did not answer in 10 s: it is stopped, stuck or overloaded\. Data shown is from \d\d:\d\d:\d\d\.$/,
        )
        expect(await page.getAttribute('body', 'class')).toContain('stale')
        server.child.kill('SIGCONT')
        await page.waitForSelector('#refresh-status[data-state="ok"]', { timeout: 20_000 })
        expect(await page.getAttribute('body', 'class')).not.toContain('stale')
      } finally {
        server.child.kill('SIGCONT')
        await closePages()
        await server.stop()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'a token no header can carry is refused in the dialog, and one kept in the tab is dropped and asked for again',
    async () => {
      const app = await build({ authToken: AUTH, readToken: READ, maxEventLoopDelayMs: 0 })
      try {
        const page = await newPage()
        const problems = watch(page)
        await page.goto(`${baseUrl(app)}/`)
        await page.waitForSelector('#token-dialog[open]')
        // A typographic quote, as a copy from a document gives: not sent, and the dialog says why.
        await page.fill('#token-input', `${READ}\u2019`)
        await page.press('#token-input', 'Enter')
        await page.waitForSelector('#token-problem:not([hidden])')
        expect(await page.textContent('#token-problem')).toBe(
          'That token cannot be sent: a token is ASCII letters, digits and punctuation only (no spaces), and this one has "\u2019" (U+2019).',
        )
        expect(await page.$('#token-dialog[open]')).not.toBeNull()
        expect(await page.evaluate(() => sessionStorage.getItem('latency-tracker.token'))).toBeNull()
        await page.fill('#token-input', READ)
        await page.press('#token-input', 'Enter')
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await page.isHidden('#token-problem')).toBe(true)

        // One already kept for the tab (from an older page, or by hand): dropped and asked for again, even after a reload.
        await page.evaluate(() => sessionStorage.setItem('latency-tracker.token', 'secret\u2019'))
        await page.reload()
        await page.waitForSelector('#token-dialog[open]')
        expect(await page.textContent('#token-reason')).toContain('The token kept for this tab cannot be sent')
        expect(await page.textContent('#refresh-status')).not.toContain('did not answer')
        await page.fill('#token-input', READ)
        await page.press('#token-input', 'Enter')
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await page.evaluate(() => sessionStorage.getItem('latency-tracker.token'))).toBe(READ)
        // Only the first 401s (before any token) failed; no request went out with the unusable token.
        for (const p of problems)
          expect(p).toMatch(/^(HTTP 401: http:\/\/127\.0\.0\.1:\d+\/metrics|console: Failed to load resource: the server responded with a status of 401)/)
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'the ids "." and ".." are listed and viewed: numbers from the list, no charts (no URL names their series)',
    async () => {
      const app = await build({ maxEventLoopDelayMs: 0 })
      const base = baseUrl(app)
      try {
        for (const [id, latencies] of [
          ['.', [1000, 2000, 3000]],
          ['..', [40_000, 50_000]],
          ['a.b', [7]],
        ] as const) {
          const res = await sendAsIs(base, 'POST', `/metrics/${id}/latency`, { latency_ns: latencies, status: latencies.map(() => 200) })
          expect(res.status, res.body).toBe(202)
        }
        const page = await newPage()
        const problems = watch(page)
        await page.goto(`${base}/`)
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        expect(await shownIds(page)).toEqual(['.', '..', 'a.b'])
        await page.waitForSelector('#metrics tr[data-id="a.b"] td[data-col="trend"] canvas')
        expect(await cellAttr(page, '..', 'trend', 'title')).toContain('cannot ask for the series')

        for (const id of ['.', '..']) {
          const snapshot = JSON.parse((await sendAsIs(base, 'GET', `/metrics/${id}?le_ns=45000`)).body) as Snapshot
          expect(snapshot.id).toBe(id)
          await page.click(`#metrics tr[data-id="${id}"] a`)
          await page.waitForSelector(`#summary [data-field="count"] dd[data-value="${snapshot.count}"]`)
          expect(await page.textContent('#metric-id')).toBe(id)
          expect(await page.getAttribute('#summary [data-field="p99"] dd', 'data-ns')).toBe(String(snapshot.p99_ns))
          expect(await page.isVisible('#no-charts')).toBe(true)
          expect(await page.isHidden('#notice')).toBe(true)
          // The SLO share, from the list read with the same le_ns.
          await page.evaluate((hash) => {
            location.hash = hash
          }, `#/metrics/${id}?le_ns=45000`)
          await page.waitForSelector(`#slo-share[data-fraction="${snapshot.le?.['45000']?.fraction}"]`)
          expect(await page.getAttribute('#refresh-status', 'data-state')).toBe('ok')
          await page.click('a[href="#/"]')
          await page.waitForSelector('#metrics tr[data-id="a.b"]')
        }
        expect(problems).toEqual([])
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'a metric deleted while viewed: its numbers go, the notice says why; they come back with new samples',
    async () => {
      const app = await build({ maxEventLoopDelayMs: 0 })
      try {
        expect((await postJson(app, '/metrics/checkout/latency', { latency_ns: [1200, 1500, 98_000], status: [200, 200, 503] })).statusCode).toBe(202)
        const page = await newPage()
        await page.goto(`${baseUrl(app)}/#/metrics/checkout?le_ns=2000`)
        await page.waitForSelector('#summary [data-field="count"] dd[data-value="3"]')
        await page.waitForSelector('#count-chart canvas')
        expect(await page.isHidden('#notice')).toBe(true)

        expect((await app.inject({ method: 'DELETE', url: '/metrics/checkout' })).statusCode).toBe(204)
        await page.waitForSelector('#notice:not([hidden])')
        expect(await page.textContent('#notice')).toContain('No metric "checkout" is held now')
        expect(await page.isHidden('#metric-data')).toBe(true)
        // Nothing of the old numbers is left to be read as current.
        expect(await page.$$('#summary [data-field]')).toEqual([])
        expect(await page.$$('#statuses tbody tr')).toEqual([])
        expect(await page.$$('#jobs tbody tr')).toEqual([])
        expect(await page.$$('#metric-data canvas')).toEqual([])
        expect(await page.textContent('#slo-share')).toBe('')
        expect(await page.getAttribute('#slo-share', 'data-fraction')).toBeNull()

        expect((await postJson(app, '/metrics/checkout/latency', { latency_ns: [1000, 3000], status: [200, 200] })).statusCode).toBe(202)
        await page.waitForSelector('#summary [data-field="count"] dd[data-value="2"]')
        expect(await page.isHidden('#notice')).toBe(true)
        expect(await page.isVisible('#metric-data')).toBe(true)
        await page.waitForSelector('#slo-share[data-fraction="0.5"]')
        expect(Object.keys(await pixelsPerSeries(page, '#count-chart'))).toEqual(['samples', 'errors'])
        expect(await page.textContent('#statuses tr[data-status="200"] td')).toBe('2')
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )

  it(
    'an overloaded service (503 with Retry-After) is left alone as long as it asks',
    async () => {
      const app = await build({ maxEventLoopDelayMs: 0 })
      try {
        const page = await newPage()
        await page.goto(`${baseUrl(app)}/`)
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        await page.selectOption('#refresh-every', '1000')
        const refusedAt: number[] = []
        await page.route(
          (url) => url.pathname === '/metrics',
          async (route) => {
            refusedAt.push(Date.now())
            await route.fulfill({
              status: 503,
              headers: { 'retry-after': '3', 'content-type': 'application/json' },
              body: JSON.stringify({ statusCode: 503, message: 'overloaded' }),
            })
          },
        )
        await expect.poll(() => refusedAt.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
        expect(await page.textContent('#refresh-status')).toMatch(/: 503: overloaded\. .* Next refresh in 3 s, as the service asked\.$/)
        // Every second is what the page was told; the service asked for 3 s, and gets them.
        for (let i = 1; i < refusedAt.length; i++) expect(refusedAt[i] - refusedAt[i - 1], `gap ${i}`).toBeGreaterThanOrEqual(2_500)
        await page.unrouteAll()
        await page.waitForSelector('#refresh-status[data-state="ok"]', { timeout: 10_000 })
      } finally {
        await closePages()
      }
    },
    BROWSER_TEST_MS,
  )
})
