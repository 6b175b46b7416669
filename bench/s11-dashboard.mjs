// S11: what the dashboard costs the service. 100 metrics each holding 10,000 samples
// (MAX_SAMPLES's default, so every read is as large as the default limits allow) with
// statuses, in a 1 h window (WINDOW_MS) so that nothing ages out during the run and
// nothing else runs: the service's CPU time (utime + stime from /proc/<pid>/stat) is
// read over fixed periods, alternately:
//   - idle: nothing polls
//   - page: one headless Chromium page on / at the default refresh (2 s)
// in the order idle, page, page, idle (so a slow drift of the machine cancels out), and
// once with a naive client instead of the page: GET /metrics plus every id's series on
// every refresh, the cost the page's design (series only for rows on screen, each at
// most every 10 s, 30 coarse steps) avoids. The figure is (CPU during the period − CPU
// while idle) / period, in % of one core; the target is < 2 %.
/* global document, innerHeight -- page.evaluate() callbacks run in the browser */
import { existsSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { chromium } from 'playwright-core'
import { latencies, makeIds, rng } from './lib/data.mjs'
import { prefill, request } from './lib/http.mjs'
import { startService } from './lib/servers.mjs'
import { cpuSeconds } from './lib/cpu.mjs'

const IDS = 100
const SAMPLES_PER_ID = 10_000
const WINDOW_MS = 3_600_000
const REFRESH_MS = 2000
const SPARKLINE_POINTS = 30
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

/** Batch bodies of 1,000 samples with statuses (3 % 503). */
function bodies() {
  const r = rng(5)
  return Array.from({ length: 16 }, (_, i) => {
    const values = latencies(1000, 11 + i)
    return JSON.stringify({ latency_ns: values, status: values.map(() => (r() < 0.97 ? 200 : 503)) })
  })
}

/** The naive dashboard: every refresh, the list and then every id's series. */
function startNaivePoller(url, ids) {
  let running = true
  let requests = 0
  const step = Math.ceil(WINDOW_MS / SPARKLINE_POINTS)
  const done = (async () => {
    while (running) {
      const started = Date.now()
      await request(url, 'GET', '/metrics')
      requests++
      for (const id of ids) {
        await request(url, 'GET', `/metrics/${id}/series?step_ms=${step}`)
        requests++
      }
      await sleep(Math.max(0, REFRESH_MS - (Date.now() - started)))
    }
  })()
  return {
    async stop() {
      running = false
      await done
      return requests
    },
  }
}

export default {
  name: 's11',
  title: `the dashboard open on ${IDS} metrics at the default ${REFRESH_MS / 1000} s refresh: service CPU above the same service without it`,
  async run(ctx) {
    if (!existsSync(CHROMIUM)) {
      ctx.progress(`skipped: ${CHROMIUM} is not installed (Debian: apt-get install chromium)`)
      return { rows: [], details: { skipped: `${CHROMIUM} is not installed` } }
    }
    const periodS = ctx.smoke ? 3 : ctx.mode === 'full' ? 40 : 20
    const samplesPerId = ctx.size(SAMPLES_PER_ID, 1000)
    const ids = makeIds('s11', IDS)
    const service = await startService({ WINDOW_MS: String(WINDOW_MS), MAX_EVENT_LOOP_DELAY_MS: '0' })
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      ctx.progress(`prefilling ${IDS} ids × ${samplesPerId.toLocaleString('en-US')} samples`)
      await prefill(service.url, ids, samplesPerId, bodies())
      const held = JSON.parse((await request(service.url, 'GET', `/metrics/${ids[0]}`)).body).count
      if (held !== samplesPerId) throw new Error(`${ids[0]} holds ${held} samples in its window, not ${samplesPerId}`)
      await sleep(2000) // let the prefill's garbage be collected before the first period

      const cpuOver = async (what) => {
        const before = cpuSeconds(service.pid)
        await sleep(periodS * 1000)
        const cpu = cpuSeconds(service.pid) - before
        ctx.progress(`${what}: ${((cpu / periodS) * 100).toFixed(2)} % of one core over ${periodS} s`)
        return cpu / periodS
      }
      const withPage = async () => {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
        const counts = { list: 0, series: 0, other: 0 }
        page.on('request', (r) => {
          const path = new URL(r.url()).pathname
          if (path === '/metrics') counts.list++
          else if (path.endsWith('/series')) counts.series++
          else counts.other++
        })
        await page.goto(`${service.url}/`)
        await page.waitForSelector('#refresh-status[data-state="ok"]')
        await page.waitForSelector('#metrics td[data-col="trend"] canvas')
        const rowsOnScreen = await page.evaluate(
          () => [...document.querySelectorAll('#metrics tbody tr[data-id]')].filter((tr) => tr.getBoundingClientRect().top < innerHeight).length,
        )
        const start = { ...counts }
        const share = await cpuOver('page open')
        await page.close()
        const stats = {
          share,
          rows_on_screen: rowsOnScreen,
          list_per_s: (counts.list - start.list) / periodS,
          series_per_s: (counts.series - start.series) / periodS,
        }
        ctx.progress(`  ${rowsOnScreen} rows on screen; ${stats.list_per_s.toFixed(2)} GET /metrics/s, ${stats.series_per_s.toFixed(2)} series/s`)
        return stats
      }

      const idle = []
      const page = []
      idle.push(await cpuOver('idle'))
      page.push(await withPage())
      page.push(await withPage())
      idle.push(await cpuOver('idle'))
      if (ctx.mode === 'full') {
        idle.push(await cpuOver('idle'))
        page.push(await withPage())
      }
      const poller = startNaivePoller(service.url, ids)
      await sleep(REFRESH_MS)
      const naiveShare = await cpuOver('naive poller (list + every series every refresh)')
      const naiveRequests = await poller.stop()
      const idleShare = idle.reduce((a, b) => a + b, 0) / idle.length
      const pct = (x) => (x - idleShare) * 100
      return {
        rows: [
          ctx.row({
            metric: `service CPU for the open page (${IDS} ids × ${samplesPerId.toLocaleString('en-US')} samples)`,
            unit: '% of a core',
            service: page.map((p) => pct(p.share)),
            baseline: [pct(naiveShare)],
            baselineIs: 'a naive client: GET /metrics and every id’s series on every refresh',
            target: { on: 'service', op: '<', value: 2, text: '< 2 %' },
          }),
        ],
        details: {
          ids: IDS,
          samples_per_id: samplesPerId,
          window_ms: WINDOW_MS,
          period_s: periodS,
          idle_cpu_share: idle,
          page: page,
          naive_cpu_share: naiveShare,
          naive_requests: naiveRequests,
        },
      }
    } finally {
      await browser.close()
      await service.stop()
    }
  },
}
