// S5: S1's ingest load (single-sample POSTs, 50 connections, 100 ids) while a poller
// GETs /metrics over 1,000 ids × 10,000 samples once per second. Compared with the
// same ingest load on the same service without the poller, alternating, same run.
// Targets: ingest requests/s >= 0.90 × without poller; ingest p99 <= 10 ms.
// The poller is its own process (lib/poller.mjs), as a dashboard would be.
import { makeIds } from './lib/data.mjs'
import { describe, failures, runLoad } from './lib/load.mjs'
import { startPoller } from './lib/poller.mjs'
import { startService } from './lib/servers.mjs'
import { median } from './lib/stats.mjs'
import { CONNECTIONS, IDS, singleSampleRequests } from './s1-ingest-single.mjs'
import { FULL_IDS, FULL_SAMPLES, checkFull, fullRead, startFilled } from './s4-read-all.mjs'

const POLL_MS = 1_000

export default {
  name: 's5',
  title: `S1's ingest (${CONNECTIONS} connections, ${IDS} ids) while GET /metrics over 1,000 ids × 10,000 samples runs once per second`,
  async run(ctx) {
    const idCount = ctx.size(FULL_IDS, 50)
    const samples = ctx.size(FULL_SAMPLES, 1_000)
    const ids = makeIds('s5', idCount)
    // Ingest goes to 100 of the prefilled ids: their rings are full, so the total stays at ids × samples.
    const requests = singleSampleRequests(ids.slice(0, Math.min(IDS, idCount)))
    let service
    try {
      service = await startFilled(ctx, startService, ids, samples)
      await checkFull(service, ids, samples)
      const ingest = (duration) => runLoad(service.url, { connections: CONNECTIONS, duration, requests })
      const withPoller = async () => {
        const poller = await startPoller(service.url, POLL_MS, Math.round(ctx.loadS * 1000))
        const [load, poll] = await Promise.all([ingest(ctx.loadS), poller.go()])
        if (poll.failures) throw new Error(`${poll.failures} full reads failed during S5`)
        return { ...load, poll }
      }
      ctx.progress(`warm-up ${ctx.warmupS} s ingest, one full read`)
      await ingest(ctx.warmupS)
      await fullRead(service)
      const r = await ctx.alternate(
        { service: withPoller, baseline: () => ingest(ctx.loadS) },
        (x) =>
          x.poll
            ? `${describe(x)}; ${x.poll.reads_ms.length} full reads, median ${median(x.poll.reads_ms).toFixed(0)} ms${x.poll.late ? `, ${x.poll.late} over 1 s` : ''}`
            : describe(x),
        { labels: { service: 'with poller', baseline: 'without poller' } },
      )
      const baselineIs = 'same service, same ingest, no poller'
      return {
        rows: [
          ctx.row({
            metric: 'ingest requests/s with poller',
            unit: 'req/s',
            service: r.service.map((x) => x.rps),
            baseline: r.baseline.map((x) => x.rps),
            baselineIs,
            target: { on: 'ratio', op: '>=', value: 0.9, text: '>= 0.90× without poller' },
            note: failures([...r.service, ...r.baseline]),
          }),
          ctx.row({
            metric: 'ingest p99 with poller',
            unit: 'ms',
            service: r.service.map((x) => x.p99_ms),
            baseline: r.baseline.map((x) => x.p99_ms),
            baselineIs,
            target: { on: 'service', op: '<=', value: 10, text: '<= 10 ms' },
          }),
          ctx.row({
            metric: 'full read during ingest',
            unit: 'ms',
            service: r.service.map((x) => median(x.poll.reads_ms)),
          }),
        ],
        details: {
          ids: idCount,
          samples_per_id: samples,
          ingest_ids: requests.length,
          connections: CONNECTIONS,
          poll_ms: POLL_MS,
          seconds_per_run: ctx.loadS,
          rounds: r,
        },
      }
    } finally {
      await service?.stop()
    }
  },
}
