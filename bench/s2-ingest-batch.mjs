// S2: batch POST /metrics/:id/latency with 1,000 samples per request, 10 connections, 100 ids.
// Metric: samples accepted per second (2xx responses/s × 1,000). Target: >= 1.0 × baseline.
import { batchBodies, makeIds } from './lib/data.mjs'
import { JSON_HEADERS } from './lib/http.mjs'
import { describe, failures, p99Row, runLoad, warmUpAndAlternate } from './lib/load.mjs'
import { startBaseline, startService } from './lib/servers.mjs'

const CONNECTIONS = 10
const IDS = 100
const BATCH = 1_000

export default {
  name: 's2',
  title: `batch POST, ${BATCH.toLocaleString('en-US')} samples/request, ${CONNECTIONS} connections, ${IDS} ids`,
  async run(ctx) {
    const ids = makeIds('s2', IDS)
    const bodies = batchBodies(IDS, BATCH, 21)
    const requests = ids.map((id, i) => ({ method: 'POST', path: `/metrics/${id}/latency`, headers: JSON_HEADERS, body: bodies[i] }))
    const [service, baseline] = await Promise.all([startService(), startBaseline()])
    try {
      const load = (server, duration) => runLoad(server.url, { connections: CONNECTIONS, duration, requests })
      const describeBatch = (x) => `${Math.round(x.rps * BATCH).toLocaleString('en-US')} samples/s (${describe(x)})`
      const r = await warmUpAndAlternate(ctx, service, baseline, load, ctx.loadS, describeBatch)
      return {
        rows: [
          ctx.row({
            metric: 'samples/s',
            unit: 'samples/s',
            service: r.service.map((x) => x.rps * BATCH),
            baseline: r.baseline.map((x) => x.rps * BATCH),
            target: { on: 'ratio', op: '>=', value: 1.0, text: '>= 1.0× baseline' },
            note: failures([...r.service, ...r.baseline]),
          }),
          p99Row(ctx, r),
        ],
        details: { connections: CONNECTIONS, ids: IDS, batch: BATCH, seconds_per_run: ctx.loadS, rounds: r },
      }
    } finally {
      await Promise.all([service.stop(), baseline.stop()])
    }
  },
}
