// S4: GET /metrics over 1,000 ids × 10,000 samples (10M samples), one read at a time.
// Metric: milliseconds per full read (request sent to last byte received), median.
// Target: <= 150 ms. Baseline: the minimal server, copy + sort of every id's array.
// Two rows: reads one after the other with nothing written in between (the service
// answers each id from the window it kept at the read before), and reads after one
// new sample went to every id (every window computed again: the full cost).
import { batchBodies, makeIds } from './lib/data.mjs'
import { getJson, prefill, request } from './lib/http.mjs'
import { startBaseline, startService } from './lib/servers.mjs'
import { median } from './lib/stats.mjs'
import { LONG_WINDOW_MS } from './s3-read-one.mjs'

export const FULL_IDS = 1_000
export const FULL_SAMPLES = 10_000

/** Starts a server and fills ids × samples through batch POSTs, logging progress. */
export async function startFilled(ctx, start, ids, samples) {
  const server = await start({ WINDOW_MS: LONG_WINDOW_MS, MAX_SAMPLES: String(samples), MAX_METRICS: String(Math.max(10_000, ids.length)) })
  const t = performance.now()
  await prefill(server.url, ids, samples, batchBodies(32, 1_000, 41), {
    onProgress: (done, total) => ctx.progress(`prefill ${server.kind}: ${done}/${total} batches`),
  })
  ctx.progress(`prefill ${server.kind}: ${ids.length} ids × ${samples} samples in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  return server
}

/** Checks one full read: every id present with every sample in its window. */
export async function checkFull(server, ids, samples) {
  const all = await getJson(server.url, '/metrics')
  if (all.metrics.length !== ids.length) throw new Error(`${server.kind}: /metrics lists ${all.metrics.length} ids, expected ${ids.length}`)
  const short = all.metrics.find((m) => m.count !== samples)
  if (short) throw new Error(`${server.kind}: ${short.id} has ${short.count} samples, expected ${samples}`)
}

export async function fullRead(server) {
  const res = await request(server.url, 'GET', '/metrics', undefined, { timeoutMs: 60_000 })
  if (res.status !== 200) throw new Error(`${server.kind} GET /metrics: ${res.status} ${res.body.slice(0, 200)}`)
  return { ms: res.ms, bytes: res.body.length }
}

export default {
  name: 's4',
  title: 'GET /metrics over 1,000 ids × 10,000 samples (10M), one read at a time',
  async run(ctx) {
    const idCount = ctx.size(FULL_IDS, 50)
    const samples = ctx.size(FULL_SAMPLES, 1_000)
    const ids = makeIds('s4', idCount)
    let service
    let baseline
    try {
      // One after the other: each prefill already keeps both cores busy.
      service = await startFilled(ctx, startService, ids, samples)
      baseline = await startFilled(ctx, startBaseline, ids, samples)
      await checkFull(service, ids, samples)
      await checkFull(baseline, ids, samples)
      const reads = ctx.fullReads
      const touchEvery = (server) => prefill(server.url, ids, 1, [JSON.stringify({ latency_ns: [12_345] })], { concurrency: 8 })
      const measure = async (server, { touch = false } = {}) => {
        const times = []
        let bytes = 0
        for (let i = 0; i < reads; i++) {
          if (touch) await touchEvery(server)
          const r = await fullRead(server)
          times.push(r.ms)
          bytes = r.bytes
        }
        return { median_ms: median(times), reads_ms: times, bytes }
      }
      ctx.progress('warm-up: one read each')
      await fullRead(service)
      await fullRead(baseline)
      const describeReads = (x) => `${x.median_ms.toFixed(1)} ms per full read (median of ${x.reads_ms.length}; ${(x.bytes / 1024).toFixed(0)} KiB)`
      const r = await ctx.alternate({ service: () => measure(service), baseline: () => measure(baseline) }, describeReads)
      const written = await ctx.alternate(
        { service: () => measure(service, { touch: true }), baseline: () => measure(baseline, { touch: true }) },
        describeReads,
        { labels: { service: 'service, every id written since', baseline: 'baseline, every id written since' } },
      )
      const readRow = (metric, rounds) =>
        ctx.row({
          metric,
          unit: 'ms',
          service: rounds.service.map((x) => x.median_ms),
          baseline: rounds.baseline.map((x) => x.median_ms),
          baselineIs: 'minimal Fastify, copy + sort of every id',
          target: { on: 'service', op: '<=', value: 150, text: '<= 150 ms' },
        })
      return {
        rows: [readRow('full read, nothing written in between', r), readRow('full read, every id written since', written)],
        details: { ids: idCount, samples_per_id: samples, reads_per_round: reads, rounds: r, rounds_written_since: written },
      }
    } finally {
      await Promise.all([service?.stop(), baseline?.stop()])
    }
  },
}
