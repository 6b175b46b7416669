// S2-status: S2's batches (1,000 samples per POST, 10 connections, 100 ids) with a status
// per value, against the same batches without statuses, alternately on one service.
// Metric: samples accepted per second. Target: with statuses >= 0.9× without.
// Also in the steadier form of S1-CPU: the service's CPU time per request with the
// batches offered at a fixed rate (3,000 req/s, well below saturation), alternately,
// at least 8 rounds; its ratio is requests per CPU-second with statuses over without.
import { batchBodies, latencies, makeIds, rng } from './lib/data.mjs'
import { cpuSeconds } from './lib/cpu.mjs'
import { JSON_HEADERS } from './lib/http.mjs'
import { describe, failures, runLoad } from './lib/load.mjs'
import { startService } from './lib/servers.mjs'

const CONNECTIONS = 10
const IDS = 100
const BATCH = 1_000
const CPU_RATE = 3_000

/** Statuses as a service sees them: mostly 200, some 404, a few 500/503 and timeouts (0). */
function statuses(count, seed) {
  const r = rng(seed)
  return Array.from({ length: count }, () => {
    const x = r()
    return x < 0.9 ? 200 : x < 0.96 ? 404 : x < 0.98 ? 503 : x < 0.995 ? 500 : 0
  })
}

export default {
  name: 's2status',
  title: `S2's batches with a status per value, against the same batches without`,
  async run(ctx) {
    const ids = makeIds('s2s', IDS)
    const plain = batchBodies(IDS, BATCH, 21)
    const withStatus = ids.map((_, i) => JSON.stringify({ latency_ns: latencies(BATCH, 21 + i), status: statuses(BATCH, 500 + i) }))
    const requestsOf = (bodies) => ids.map((id, i) => ({ method: 'POST', path: `/metrics/${id}/latency`, headers: JSON_HEADERS, body: bodies[i] }))
    const service = await startService()
    try {
      const load = (requests, duration) => runLoad(service.url, { connections: CONNECTIONS, duration, requests })
      const describeBatch = (x) => `${Math.round(x.rps * BATCH).toLocaleString('en-US')} samples/s (${describe(x)})`
      ctx.progress(`warm-up ${ctx.warmupS} s each`)
      await load(requestsOf(withStatus), ctx.warmupS)
      await load(requestsOf(plain), ctx.warmupS)
      const r = await ctx.alternate(
        { service: () => load(requestsOf(withStatus), ctx.loadS), baseline: () => load(requestsOf(plain), ctx.loadS) },
        describeBatch,
        { labels: { service: 'with statuses', baseline: 'without' } },
      )
      const secondsPerCpuRun = ctx.smoke ? 1 : ctx.mode === 'full' ? 5 : 3
      const measureCpu = async (bodies) => {
        const before = cpuSeconds(service.pid)
        const x = await runLoad(service.url, { connections: CONNECTIONS, duration: secondsPerCpuRun, requests: requestsOf(bodies), overallRate: CPU_RATE })
        return { ...x, us_per_request: ((cpuSeconds(service.pid) - before) * 1e6) / Math.max(1, x.ok_2xx) }
      }
      const cpu = await ctx.alternate(
        { service: () => measureCpu(withStatus), baseline: () => measureCpu(plain) },
        (x) => `${Math.round(x.rps).toLocaleString('en-US')} req/s, ${x.us_per_request.toFixed(1)} µs CPU per request`,
        { rounds: ctx.smoke ? 1 : Math.max(ctx.rounds, 8), labels: { service: 'with statuses, fixed rate', baseline: 'without, fixed rate' } },
      )
      const perCpuSecond = (rounds) => rounds.map((x) => (1e6 / x.us_per_request) * BATCH)
      return {
        rows: [
          ctx.row({
            metric: 'samples/s with a status per value',
            unit: 'samples/s',
            service: r.service.map((x) => x.rps * BATCH),
            baseline: r.baseline.map((x) => x.rps * BATCH),
            baselineIs: 'the same batches without statuses (S2 on the service)',
            target: { on: 'ratio', op: '>=', value: 0.9, text: '>= 0.9× without statuses' },
            note: failures([...r.service, ...r.baseline]),
          }),
          ctx.row({
            metric: `samples per CPU-second at ${CPU_RATE.toLocaleString('en-US')} req/s`,
            unit: 'samples/CPU-s',
            service: perCpuSecond(cpu.service),
            baseline: perCpuSecond(cpu.baseline),
            baselineIs: 'the same batches without statuses, same rate',
            target: { on: 'ratio', op: '>=', value: 0.9, text: '>= 0.9× without statuses' },
            note: failures([...cpu.service, ...cpu.baseline]),
          }),
        ],
        details: {
          connections: CONNECTIONS,
          ids: IDS,
          batch: BATCH,
          seconds_per_run: ctx.loadS,
          rounds: r,
          cpu_rate: CPU_RATE,
          cpu_seconds_per_run: secondsPerCpuRun,
          cpu_rounds: cpu,
        },
      }
    } finally {
      await service.stop()
    }
  },
}
