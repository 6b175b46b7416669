// S1: one sample per POST /metrics/:id/latency, 50 connections, 100 ids.
// Metric: 2xx responses per second (and p99). Target: >= 0.95 × the baseline's requests/s.
import { latencies, makeIds } from './lib/data.mjs'
import { JSON_HEADERS } from './lib/http.mjs'
import { failures, p99Row, runLoad, warmUpAndAlternate } from './lib/load.mjs'
import { startBaseline, startService } from './lib/servers.mjs'

export const CONNECTIONS = 50
export const IDS = 100

/** One request per id, each with its own value: {"latency_ns": N}. */
export function singleSampleRequests(ids) {
  const values = latencies(ids.length, 11)
  return ids.map((id, i) => ({
    method: 'POST',
    path: `/metrics/${id}/latency`,
    headers: JSON_HEADERS,
    body: JSON.stringify({ latency_ns: values[i] }),
  }))
}

export default {
  name: 's1',
  title: `single-sample POST, ${CONNECTIONS} connections, ${IDS} ids`,
  async run(ctx) {
    const requests = singleSampleRequests(makeIds('s1', IDS))
    const [service, baseline] = await Promise.all([startService(), startBaseline()])
    try {
      const load = (server, duration) => runLoad(server.url, { connections: CONNECTIONS, duration, requests })
      const r = await warmUpAndAlternate(ctx, service, baseline, load, ctx.loadS)
      const all = [...r.service, ...r.baseline]
      return {
        rows: [
          ctx.row({
            metric: 'requests/s',
            unit: 'req/s',
            service: r.service.map((x) => x.rps),
            baseline: r.baseline.map((x) => x.rps),
            target: { on: 'ratio', op: '>=', value: 0.95, text: '>= 0.95× baseline' },
            note: failures(all),
          }),
          p99Row(ctx, r),
        ],
        details: { connections: CONNECTIONS, ids: IDS, seconds_per_run: ctx.loadS, rounds: r },
      }
    } finally {
      await Promise.all([service.stop(), baseline.stop()])
    }
  },
}
