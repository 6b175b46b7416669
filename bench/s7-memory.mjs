// S7: memory. In a fresh child process per measurement (node --expose-gc), the store
// from dist/store/metric-store.js is created empty, gc() runs and RSS is read (the idle
// baseline); then it is filled and gc() runs again before RSS is read a second time.
//   - dense: 1,000 ids × 10,000 samples -> bytes of RSS per stored sample (target <= 20)
//   - sparse: 10,000 ids × 10 samples  -> bytes of RSS per id (target <= 1 KiB)
//   - dense with a status per sample: as dense -> bytes of RSS per sample (target <= 22)
// Baseline: the same fill into the baseline server's structure (Map of plain arrays of
// values, capped at 10,000; no timestamps, no counters).
// Running this file with --child '<json>' performs one measurement and prints JSON.
import { fileURLToPath } from 'node:url'
import { latencies, makeIds } from './lib/data.mjs'
import { PlainSeries } from './lib/plain-series.mjs'
import { runJsonChild } from './lib/servers.mjs'

const SELF = fileURLToPath(import.meta.url)
const MAX_SAMPLES = 10_000

export default {
  name: 's7',
  title: 'memory: RSS over idle after 1,000 ids × 10,000 samples, and after 10,000 ids × 10 samples',
  async run(ctx) {
    const cases = [
      { key: 'dense', ids: ctx.size(1_000, 100), samples: ctx.size(10_000, 1_000) },
      { key: 'sparse', ids: ctx.size(10_000, 1_000), samples: 10 },
      { key: 'statuses', ids: ctx.size(1_000, 100), samples: ctx.size(10_000, 1_000), statuses: true },
    ]
    const results = {}
    for (const c of cases) {
      const measure = (kind) =>
        runJsonChild(SELF, ['--child', JSON.stringify({ kind, ids: c.ids, samples: c.samples, statuses: c.statuses === true })], { nodeArgs: ['--expose-gc'] })
      results[c.key] = await ctx.alternate(
        { service: () => measure('service'), baseline: () => measure('baseline') },
        (x) =>
          `${c.ids} ids × ${c.samples}: RSS +${(x.rss_delta / 2 ** 20).toFixed(1)} MiB = ${(x.rss_delta / (c.ids * c.samples)).toFixed(1)} B/sample, ${(x.rss_delta / c.ids).toFixed(0)} B/id (heap +${(x.heap_used_delta / 2 ** 20).toFixed(1)} MiB, array buffers +${(x.array_buffers_delta / 2 ** 20).toFixed(1)} MiB)`,
      )
    }
    const [dense, sparse, withStatuses] = cases
    const baselineIs = 'Map of plain arrays of values (no timestamps)'
    return {
      rows: [
        ctx.row({
          metric: `RSS per sample, ${dense.ids} ids × ${dense.samples}`,
          unit: 'bytes',
          service: results.dense.service.map((x) => x.rss_delta / (dense.ids * dense.samples)),
          baseline: results.dense.baseline.map((x) => x.rss_delta / (dense.ids * dense.samples)),
          baselineIs,
          target: { on: 'service', op: '<=', value: 20, text: '<= 20 B' },
        }),
        ctx.row({
          metric: `RSS per id, ${sparse.ids} ids × ${sparse.samples}`,
          unit: 'bytes',
          service: results.sparse.service.map((x) => x.rss_delta / sparse.ids),
          baseline: results.sparse.baseline.map((x) => x.rss_delta / sparse.ids),
          baselineIs,
          target: { on: 'service', op: '<=', value: 1024, text: '<= 1,024 B' },
        }),
        ctx.row({
          metric: `RSS per sample with a status each, ${withStatuses.ids} ids × ${withStatuses.samples}`,
          unit: 'bytes',
          service: results.statuses.service.map((x) => x.rss_delta / (withStatuses.ids * withStatuses.samples)),
          baseline: results.statuses.baseline.map((x) => x.rss_delta / (withStatuses.ids * withStatuses.samples)),
          baselineIs: `${baselineIs}; it keeps no status`,
          target: { on: 'service', op: '<=', value: 22, text: '<= 22 B' },
        }),
      ],
      details: { measured_in: 'fresh child process per measurement, in-process MetricStore (not the HTTP service)', cases, rounds: results },
    }
  },
}

// ---------------------------------------------------------------- child process

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  const { MetricStore } = await import('../dist/store/metric-store.js')
  const { kind, ids: idCount, samples, statuses } = JSON.parse(process.argv[3])
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc')
  const settle = () => {
    for (let i = 0; i < 3; i++) globalThis.gc()
  }
  const batch = Math.min(samples, 1_000)
  const pool = Array.from({ length: 16 }, (_, i) => latencies(batch, 500 + i))
  // Mostly 200, some 404 and 503: a status per value (the service's status column is 2 bytes a sample).
  const statusPool = Array.from({ length: 16 }, (_, i) => Array.from({ length: batch }, (_, j) => ((i + j) % 10 === 0 ? 404 : (i * j) % 37 === 1 ? 503 : 200)))
  // Ids are built before the idle reading: the id strings are the caller's, not the store's.
  const ids = makeIds('memory', idCount)
  const store = kind === 'service' ? new MetricStore({ maxMetrics: Math.max(10_000, idCount), maxSamples: MAX_SAMPLES, windowMs: 60_000 }) : new Map()

  settle()
  const before = process.memoryUsage()
  let stored = 0
  for (let i = 0; i < idCount; i++) {
    if (kind === 'service') {
      const metric = store.acquire(ids[i])
      for (let k = 0; k < samples; k += batch) {
        if (statuses) store.recordLatencies(metric, pool[(i + k) & 15], statusPool[(i + k) & 15])
        else store.recordLatencies(metric, pool[(i + k) & 15])
      }
    } else {
      const s = new PlainSeries(MAX_SAMPLES)
      store.set(ids[i], s)
      for (let k = 0; k < samples; k += batch) {
        const b = pool[(i + k) & 15]
        for (let j = 0; j < b.length; j++) s.push(b[j])
      }
    }
    stored += samples
  }
  settle()
  const after = process.memoryUsage()
  process.stdout.write(
    `${JSON.stringify({
      kind,
      ids: idCount,
      samples_per_id: samples,
      held: store.size,
      stored,
      rss_before: before.rss,
      rss_after: after.rss,
      rss_delta: after.rss - before.rss,
      heap_used_delta: after.heapUsed - before.heapUsed,
      array_buffers_delta: after.arrayBuffers - before.arrayBuffers,
      external_delta: after.external - before.external,
    })}\n`,
  )
}
