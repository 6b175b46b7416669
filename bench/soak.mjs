// soak (not in the default run: `npm run bench -- --only soak`): 10 minutes of mixed
// traffic across 5,000 ids against the service started with IDLE_TTL_MS=30000.
//
// Traffic (autocannon, 20 connections, offered at --rate requests/s, default 5,000):
//   45% POST one sample, 10% POST a batch of 100, 27% GET /metrics/:id,
//   15% POST /metrics/:id/jobs, 3% DELETE /metrics/:id.
// The ids in use slide through the 5,000: at any moment requests go to 1,000
// consecutive ids, and the window moves on by 5,000 ids per cycle (D/4, between 20 and
// 150 s), so an id is busy for a fifth of a cycle and then idle long enough for the
// 30 s idle TTL to evict it. Every 5 s a sampler reads the service's VmRSS from
// /proc/<pid>/status, times GET /healthz three times (the median is the event-loop delay
// as seen from outside: loopback round trip plus time queued behind other work) and
// does one full GET /metrics.
//
// Reported: slope of RSS and of /healthz latency after warm-up (least squares), and
// every request that failed: errors, timeouts, and any status other than the expected
// ones (202 for writes, 200/404 for reads, 204/404 for deletes).
import { latencies, makeIds, rng } from './lib/data.mjs'
import { request, sleep } from './lib/http.mjs'
import { runLoad } from './lib/load.mjs'
import { startService } from './lib/servers.mjs'
import { linearFit, median, percentile } from './lib/stats.mjs'

const IDS = 5_000
const ACTIVE = 1_000
const CONNECTIONS = 20
const SAMPLE_MS = 5_000
const IDLE_TTL_MS = 30_000
const JOB_EVENTS = ['created', 'started', 'completed', 'failed', 'retried']
const EXPECTED = {
  single: [202],
  batch: [202],
  read: [200, 404],
  jobs: [202],
  delete: [204, 404],
}
const MIX = [
  ['single', 45],
  ['batch', 10],
  ['read', 27],
  ['jobs', 15],
  ['delete', 3],
]

export default {
  name: 'soak',
  default: false,
  title: `soak: mixed ingest, reads, jobs and deletes across ${IDS.toLocaleString('en-US')} ids, IDLE_TTL_MS=${IDLE_TTL_MS}`,
  async run(ctx) {
    const durationS = ctx.duration ?? (ctx.smoke ? 20 : 600)
    const rate = ctx.rate ?? 5_000
    const cycleS = Math.min(150, Math.max(20, durationS / 4))
    const warmupS = Math.min(durationS / 2, Math.max(120, durationS / 4))
    const ids = makeIds('soak', IDS)
    const values = latencies(4_096, 71)
    const batches = Array.from({ length: 32 }, (_, i) => JSON.stringify({ latency_ns: latencies(100, 200 + i) }))
    const random = rng(99)
    const counts = Object.fromEntries(MIX.map(([kind]) => [kind, {}]))
    const unexpected = []
    let t0 = 0

    const pickKind = () => {
      let x = random() * 100
      for (const [kind, weight] of MIX) {
        if ((x -= weight) < 0) return kind
      }
      return 'single'
    }
    const pickId = () => {
      const elapsed = (performance.now() - t0) / 1000
      const offset = Math.floor((elapsed / cycleS) * IDS)
      return ids[(offset + Math.floor(random() * ACTIVE)) % IDS]
    }
    const soakRequest = {
      setupRequest(req, context) {
        const kind = pickKind()
        const id = pickId()
        context.kind = kind
        context.id = id
        switch (kind) {
          case 'single':
            return {
              ...req,
              method: 'POST',
              path: `/metrics/${id}/latency`,
              headers: { 'content-type': 'application/json' },
              body: `{"latency_ns":${values[Math.floor(random() * values.length)]}}`,
            }
          case 'batch':
            return {
              ...req,
              method: 'POST',
              path: `/metrics/${id}/latency`,
              headers: { 'content-type': 'application/json' },
              body: batches[Math.floor(random() * batches.length)],
            }
          case 'jobs':
            return {
              ...req,
              method: 'POST',
              path: `/metrics/${id}/jobs`,
              headers: { 'content-type': 'application/json' },
              body: `{"event":"${JOB_EVENTS[Math.floor(random() * JOB_EVENTS.length)]}"}`,
            }
          case 'read':
            return { ...req, method: 'GET', path: `/metrics/${id}`, headers: {}, body: undefined }
          default:
            return { ...req, method: 'DELETE', path: `/metrics/${id}`, headers: {}, body: undefined }
        }
      },
      onResponse(status, body, context) {
        const c = counts[context.kind]
        c[status] = (c[status] ?? 0) + 1
        if (!EXPECTED[context.kind].includes(status) && unexpected.length < 20) {
          unexpected.push({ kind: context.kind, id: context.id, status, body: String(body).slice(0, 200) })
        }
      },
    }

    const service = await startService({ IDLE_TTL_MS: String(IDLE_TTL_MS) })
    const samples = []
    let stopSampling = false
    let wake = () => {}
    const sampler = async () => {
      const maxSamples = Math.ceil(durationS / (SAMPLE_MS / 1000)) + 2
      let lastReport = 0
      let lastStatus = null
      for (let i = 0; i < maxSamples && !stopSampling; i++) {
        const t = (performance.now() - t0) / 1000
        const health = []
        for (let k = 0; k < 3; k++) {
          const h = await request(service.url, 'GET', '/healthz', undefined, { timeoutMs: 10_000 })
          health.push(h.status === 200 ? h.ms : NaN)
        }
        const all = await request(service.url, 'GET', '/metrics', undefined, { timeoutMs: 30_000 })
        let held = null
        if (all.status === 200) {
          lastStatus = JSON.parse(all.body).service
          held = lastStatus.metrics
        }
        const sample = {
          t_s: t,
          rss_bytes: service.rssBytes(),
          healthz_ms: median(health),
          healthz_max_ms: Math.max(...health),
          full_read_ms: all.ms,
          full_read_status: all.status,
          ids_held: held,
        }
        samples.push(sample)
        if (t - lastReport >= 30 || i === 0) {
          lastReport = t
          const requests = Object.values(counts).reduce((s, c) => s + Object.values(c).reduce((a, b) => a + b, 0), 0)
          ctx.progress(
            `${t.toFixed(0)}/${durationS} s: RSS ${(sample.rss_bytes / 2 ** 20).toFixed(1)} MiB, /healthz ${sample.healthz_ms.toFixed(2)} ms, full read ${all.ms.toFixed(0)} ms, ids held ${held}, ${requests.toLocaleString('en-US')} requests, ${unexpected.length} unexpected`,
          )
        }
        if (i === maxSamples - 1 || stopSampling) break
        const wait = t0 + (i + 1) * SAMPLE_MS - performance.now()
        if (wait > 0) {
          await new Promise((resolve) => {
            if (stopSampling) return resolve()
            const timer = setTimeout(resolve, wait)
            wake = () => {
              clearTimeout(timer)
              resolve()
            }
          })
        }
      }
      return lastStatus
    }
    try {
      ctx.progress(`${durationS} s at ${rate} req/s offered, ${CONNECTIONS} connections; ids slide by ${IDS} per ${cycleS} s; warm-up ${warmupS} s`)
      t0 = performance.now()
      const samplerDone = sampler()
      samplerDone.catch(() => {})
      let load
      let loadError
      try {
        load = await runLoad(service.url, { connections: CONNECTIONS, duration: durationS, requests: [soakRequest], rotate: false, overallRate: rate })
      } catch (err) {
        loadError = err
      }
      stopSampling = true
      wake()
      const lastService = await samplerDone
      if (loadError) throw loadError
      await sleep(100)
      if (!service.running) throw new Error(`the service exited during the soak:\n${service.output()}`)

      const steady = samples.filter((s) => s.t_s >= warmupS)
      const rssFit = linearFit(
        steady.map((s) => s.t_s / 60),
        steady.map((s) => s.rss_bytes / 2 ** 20),
      )
      const healthFit = linearFit(
        steady.map((s) => s.t_s / 60),
        steady.map((s) => s.healthz_ms),
      )
      const sampleFailures = samples.filter((s) => !Number.isFinite(s.healthz_ms) || s.full_read_status !== 200).length
      const unexpectedCount = Object.entries(counts).reduce(
        (sum, [kind, byStatus]) =>
          sum +
          Object.entries(byStatus)
            .filter(([status]) => !EXPECTED[kind].includes(Number(status)))
            .reduce((a, [, n]) => a + n, 0),
        0,
      )
      const failed = load.errors + load.timeouts + unexpectedCount + sampleFailures
      const one = (x) => [x]
      return {
        rows: [
          ctx.row({
            metric: 'RSS slope after warm-up',
            unit: 'MiB/min',
            service: one(rssFit.slope),
            target: { on: 'service', op: '<=', value: 1, text: '<= 1 MiB/min' },
          }),
          ctx.row({ metric: 'RSS at end', unit: 'MiB', service: one(samples.at(-1).rss_bytes / 2 ** 20) }),
          ctx.row({
            metric: '/healthz latency slope after warm-up',
            unit: 'ms/min',
            service: one(healthFit.slope),
            target: { on: 'service', op: '<=', value: 0.1, text: '<= 0.1 ms/min' },
          }),
          ctx.row({
            metric: '/healthz latency p99 after warm-up',
            unit: 'ms',
            service: one(
              percentile(
                steady.map((s) => s.healthz_ms),
                0.99,
              ),
            ),
          }),
          ctx.row({ metric: 'requests answered', unit: 'count', service: one(load.total) }),
          ctx.row({
            metric: 'failed requests',
            unit: 'count',
            service: one(failed),
            target: { on: 'service', op: '<=', value: 0, text: '0' },
            note: failed
              ? `errors ${load.errors}, timeouts ${load.timeouts}, unexpected statuses ${unexpectedCount}, failed samples ${sampleFailures}; first: ${JSON.stringify(unexpected.slice(0, 3))}`
              : undefined,
          }),
          ctx.row({ metric: 'ids held at end', unit: 'count', service: one(samples.at(-1).ids_held) }),
        ],
        details: {
          duration_s: durationS,
          rate,
          connections: CONNECTIONS,
          ids: IDS,
          active_ids: ACTIVE,
          cycle_s: cycleS,
          warmup_s: warmupS,
          idle_ttl_ms: IDLE_TTL_MS,
          mix: Object.fromEntries(MIX),
          status_by_kind: counts,
          unexpected,
          load,
          rss_fit_mib_per_min: rssFit,
          healthz_fit_ms_per_min: healthFit,
          last_service_status: lastService,
          samples,
        },
      }
    } finally {
      stopSampling = true
      wake()
      await service.stop()
    }
  },
}
