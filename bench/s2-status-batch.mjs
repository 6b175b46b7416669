// S2-status: S2's batches (1,000 samples per POST, 10 connections, 100 ids) with a status
// per value, against the same batches without statuses, alternately on one service.
// Metric: samples accepted per second. Target: with statuses >= 0.9× without.
import { batchBodies, latencies, makeIds, rng } from './lib/data.mjs'
import { JSON_HEADERS } from './lib/http.mjs'
import { describe, failures, runLoad } from './lib/load.mjs'
import { startService } from './lib/servers.mjs'

const CONNECTIONS = 10
const IDS = 100
const BATCH = 1_000

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
        ],
        details: { connections: CONNECTIONS, ids: IDS, batch: BATCH, seconds_per_run: ctx.loadS, rounds: r },
      }
    } finally {
      await service.stop()
    }
  },
}
