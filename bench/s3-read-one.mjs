// S3: GET /metrics/:id where the id holds 10,000 samples in its window, 10 connections,
// rotating over 10 such ids. Metric: requests/s (and p99). Target: >= 8,000 requests/s.
// Baseline: the minimal server answering the same read by copy + sort of its plain array.
import { batchBodies, makeIds } from './lib/data.mjs'
import { getJson, prefill } from './lib/http.mjs'
import { failures, p99Row, runLoad, warmUpAndAlternate } from './lib/load.mjs'
import { startBaseline, startService } from './lib/servers.mjs'

const CONNECTIONS = 10
const IDS = 10
const SAMPLES = 10_000
/** A day (the longest WINDOW_MS): every prefilled sample stays in the window for the whole run. */
export const LONG_WINDOW_MS = '86400000'

export default {
  name: 's3',
  title: `GET /metrics/:id with ${SAMPLES.toLocaleString('en-US')} samples in window, ${CONNECTIONS} connections, ${IDS} ids`,
  async run(ctx) {
    const ids = makeIds('s3', IDS)
    const env = { WINDOW_MS: LONG_WINDOW_MS, MAX_SAMPLES: String(SAMPLES) }
    const [service, baseline] = await Promise.all([startService(env), startBaseline(env)])
    try {
      const bodies = batchBodies(16, 1_000, 31)
      ctx.progress(`prefill ${IDS} ids × ${SAMPLES} samples on both`)
      await Promise.all([prefill(service.url, ids, SAMPLES, bodies), prefill(baseline.url, ids, SAMPLES, bodies)])
      for (const server of [service, baseline]) {
        const snap = await getJson(server.url, `/metrics/${ids[0]}`)
        if (snap.count !== SAMPLES) throw new Error(`${server.kind}: ${ids[0]} has ${snap.count} samples, expected ${SAMPLES}`)
      }
      const requests = ids.map((id) => ({ method: 'GET', path: `/metrics/${id}` }))
      const load = (server, duration) => runLoad(server.url, { connections: CONNECTIONS, duration, requests })
      const r = await warmUpAndAlternate(ctx, service, baseline, load, ctx.readS)
      return {
        rows: [
          ctx.row({
            metric: 'requests/s',
            unit: 'req/s',
            service: r.service.map((x) => x.rps),
            baseline: r.baseline.map((x) => x.rps),
            baselineIs: 'minimal Fastify, copy + sort per read',
            target: { on: 'service', op: '>=', value: 8000, text: '>= 8,000 req/s' },
            note: failures([...r.service, ...r.baseline]),
          }),
          p99Row(ctx, r),
        ],
        details: { connections: CONNECTIONS, ids: IDS, samples_per_id: SAMPLES, seconds_per_run: ctx.readS, rounds: r },
      }
    } finally {
      await Promise.all([service.stop(), baseline.stop()])
    }
  },
}
