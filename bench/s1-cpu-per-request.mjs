// S1-CPU: S1's requests offered at a fixed rate (12,000 req/s, 20 connections) to each
// server in turn, while its process CPU time (utime + stime from /proc/<pid>/stat) is
// read before and after. Saturation throughput swings ±20 % on this machine; CPU spent
// per request at a fixed offered rate is much steadier, and says directly whether the
// service does per-request work that the baseline does not.
// Other load on the machine only ever adds CPU time (cache and core contention), so
// the rounds alternate, there are at least 8 of them, and besides the medians the
// least CPU per request of each side is reported: the estimate least disturbed by
// neighbours. Both ratios are printed; the target is on the medians.
// Metrics: CPU µs per request, and requests per CPU-second (target >= 0.95× the baseline).
import { cpuSeconds } from './lib/cpu.mjs'
import { makeIds } from './lib/data.mjs'
import { runLoad } from './lib/load.mjs'
import { startBaseline, startService } from './lib/servers.mjs'
import { IDS, singleSampleRequests } from './s1-ingest-single.mjs'

export const RATE = 12_000
export const CONNECTIONS = 20

export default {
  name: 's1cpu',
  title: `S1's requests at a fixed ${RATE.toLocaleString('en-US')} req/s: server CPU per request`,
  async run(ctx) {
    const requests = singleSampleRequests(makeIds('s1', IDS))
    const [service, baseline] = await Promise.all([startService(), startBaseline()])
    const seconds = ctx.smoke ? 1 : ctx.mode === 'full' ? 5 : 3
    const measure = async (server, duration) => {
      const before = cpuSeconds(server.pid)
      const r = await runLoad(server.url, { connections: CONNECTIONS, duration, requests, overallRate: RATE })
      const cpu = cpuSeconds(server.pid) - before
      return { ...r, cpu_s: cpu, us_per_request: (cpu * 1e6) / Math.max(1, r.ok_2xx) }
    }
    try {
      ctx.progress(`warm-up ${ctx.warmupS} s each`)
      await measure(service, ctx.warmupS)
      await measure(baseline, ctx.warmupS)
      const r = await ctx.alternate(
        { service: () => measure(service, seconds), baseline: () => measure(baseline, seconds) },
        (x) => `${Math.round(x.rps).toLocaleString('en-US')} req/s, ${x.us_per_request.toFixed(1)} µs CPU per request`,
        { rounds: ctx.smoke ? 1 : Math.max(ctx.rounds, 8) },
      )
      return {
        rows: [
          ctx.row({
            metric: 'CPU per request',
            unit: 'µs',
            service: r.service.map((x) => x.us_per_request),
            baseline: r.baseline.map((x) => x.us_per_request),
          }),
          ctx.row({
            metric: 'requests per CPU-second',
            unit: 'req/CPU-s',
            service: r.service.map((x) => 1e6 / x.us_per_request),
            baseline: r.baseline.map((x) => 1e6 / x.us_per_request),
            target: { on: 'ratio', op: '>=', value: 0.95, text: '>= 0.95× baseline' },
          }),
          ctx.row({
            metric: 'requests per CPU-second, least-disturbed round',
            unit: 'req/CPU-s',
            service: [1e6 / Math.min(...r.service.map((x) => x.us_per_request))],
            baseline: [1e6 / Math.min(...r.baseline.map((x) => x.us_per_request))],
          }),
        ],
        details: { rate: RATE, connections: CONNECTIONS, seconds_per_run: seconds, rounds: r },
      }
    } finally {
      await Promise.all([service.stop(), baseline.stop()])
    }
  },
}
