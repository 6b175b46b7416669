// S8: in-process reads that issue 11 added (dist/store), in a child process:
//   - a 60-point series over 10k in-window samples (target <= 0.5 ms)
//   - a 3,600-point series over 1M samples (target <= 60 ms), and the longest stretch it
//     keeps the event loop busy (it is computed in time slices, like a full GET /metrics)
//   - a snapshot filtered by status=2xx over 100k samples (target <= 3 ms)
// Baseline: the obvious way, per step or window: filter, copy, sort, read the ranks.
import { fileURLToPath } from 'node:url'
import { latencies, rng } from './lib/data.mjs'
import { runJsonChild } from './lib/servers.mjs'

const SELF = fileURLToPath(import.meta.url)

export default {
  name: 's8',
  title: 'in-process: per-step series (60 points / 10k samples, 3,600 points / 1M) and a status-filtered snapshot of 100k',
  async run(ctx) {
    const out = await runJsonChild(SELF, ['--child', JSON.stringify({ rounds: ctx.rounds, scale: ctx.microScale })], {
      nodeArgs: ['--expose-gc'],
      onLine: (line) => ctx.progress(line),
    })
    const row = (metric, key, target, baselineIs = 'filter + copy + sort per step') =>
      ctx.row({ metric, unit: 'ms', service: out[key].service, baseline: out[key].baseline, baselineIs, target })
    return {
      rows: [
        row('series, 60 points over 10k samples', 'series60', { on: 'service', op: '<=', value: 0.5, text: '<= 0.5 ms' }),
        row('series, 3,600 points over 1M samples', 'series3600', { on: 'service', op: '<=', value: 60, text: '<= 60 ms' }),
        ctx.row({
          metric: 'longest event-loop stall during that series',
          unit: 'ms',
          service: out.stall.series,
          baseline: out.stall.fullRead,
          baselineIs: 'a full GET /metrics read (time-sliced) of 1,000 ids × 1,000 samples',
        }),
        row('snapshot with status=2xx over 100k samples', 'filtered', { on: 'service', op: '<=', value: 3, text: '<= 3 ms' }, 'filter + copy + sort'),
      ],
      details: { measured_in: 'child process, dist/store', raw: out },
    }
  },
}

// ---------------------------------------------------------------- child process

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  const { MetricStore } = await import('../dist/store/metric-store.js')
  const { parseStatusFilter } = await import('../dist/store/read-options.js')
  const { rounds, scale } = JSON.parse(process.argv[3])
  const gc = globalThis.gc ?? (() => {})
  const say = (msg) => process.stderr.write(`${msg}\n`)
  const T0 = 1_795_996_000_000

  /** A store on a manual clock holding `total` samples spread evenly over `points` steps of `stepMs`. */
  function fill(total, points, stepMs, withStatus) {
    let t = T0
    const store = new MetricStore({ maxMetrics: 10, maxSamples: total, windowMs: points * stepMs, now: () => t })
    const values = latencies(total, 7)
    const r = rng(9)
    const statuses = values.map(() => (r() < 0.9 ? 200 : r() < 0.5 ? 404 : 503))
    const perStep = Math.ceil(total / points)
    const samples = []
    for (let i = 0, step = 0; i < total; i += perStep, step++) {
      t = T0 + step * stepMs + 1
      const part = values.slice(i, Math.min(total, i + perStep))
      const status = statuses.slice(i, i + part.length)
      // At most MAX_BATCH (10,000) values per call.
      for (let k = 0; k < part.length; k += 10_000) {
        const accepted = store.ingestSamples('m', part.slice(k, k + 10_000), withStatus ? status.slice(k, k + 10_000) : undefined)
        if (typeof accepted !== 'number') throw new Error(accepted.message)
      }
      for (let k = 0; k < part.length; k++) samples.push({ value: part[k], time: t, status: withStatus ? status[k] : undefined })
    }
    t = T0 + points * stepMs - 1
    return { store, metric: store.get('m'), samples, now: t }
  }

  /** The obvious series: samples per step, each step sorted. */
  function naiveSeries(samples, now, windowMs, stepMs) {
    const first = Math.floor((now - windowMs) / stepMs)
    const last = Math.floor(now / stepMs)
    const steps = Array.from({ length: last - first + 1 }, () => [])
    for (const s of samples) if (s.time > now - windowMs) steps[Math.floor(s.time / stepMs) - first].push(s.value)
    let sink = 0
    for (const values of steps) {
      values.sort((a, b) => a - b)
      if (values.length > 0) sink += values[Math.ceil(0.99 * values.length) - 1] + values[Math.ceil(0.5 * values.length) - 1]
    }
    return sink
  }

  async function timeAsync(fn, iterations) {
    const t0 = performance.now()
    for (let i = 0; i < iterations; i++) await fn()
    return (performance.now() - t0) / iterations
  }

  async function alternate(name, fns, iterations) {
    const out = { service: [], baseline: [] }
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? ['service', 'baseline'] : ['baseline', 'service']) {
        gc()
        const x = await timeAsync(fns[side], iterations)
        out[side].push(x)
        say(`round ${r + 1}/${rounds} ${name} ${side}: ${x.toPrecision(4)} ms`)
      }
    }
    return out
  }

  /** The longest gap between turns of the event loop while fn runs. */
  async function longestStall(fn) {
    let last = performance.now()
    let longest = 0
    let done = false
    const tick = () => {
      const now = performance.now()
      longest = Math.max(longest, now - last)
      last = now
      if (!done) setImmediate(tick)
    }
    setImmediate(tick)
    await fn()
    done = true
    return longest
  }

  const small = fill(10_000, 60, 1_000, false)
  const large = fill(Math.round(1_000_000 * Math.max(scale, 0.05)), 3_600, 1_000, false)
  const options = (s) => ({ windowMs: s.store.windowMs })
  const series60 = await alternate(
    'series 60 points / 10k',
    {
      service: () => small.store.series(small.metric, options(small), 1_000),
      baseline: () => naiveSeries(small.samples, small.now, small.store.windowMs, 1_000),
    },
    Math.max(5, Math.round(200 * scale)),
  )
  const series3600 = await alternate(
    'series 3,600 points / 1M',
    {
      service: () => large.store.series(large.metric, options(large), 1_000),
      baseline: () => naiveSeries(large.samples, large.now, large.store.windowMs, 1_000),
    },
    Math.max(1, Math.round(3 * scale)),
  )

  // Stall: the series above, against a full time-sliced read of 1,000 ids × 1,000 samples.
  const many = new MetricStore({ maxMetrics: 1_000, maxSamples: 1_000, windowMs: 60_000 })
  for (let i = 0; i < 1_000; i++) many.ingestSamples(`id${i}`, latencies(1_000, i))
  const stall = { series: [], fullRead: [] }
  for (let r = 0; r < rounds; r++) {
    stall.series.push(await longestStall(() => large.store.series(large.metric, options(large), 1_000)))
    stall.fullRead.push(await longestStall(() => many.forEachInSlices((m) => many.snapshot(m, { windowMs: 60_000 }))))
    say(`round ${r + 1}/${rounds} longest stall: series ${stall.series.at(-1).toFixed(2)} ms, full read ${stall.fullRead.at(-1).toFixed(2)} ms`)
  }

  const filteredStore = fill(100_000, 1, 60_000, true)
  const twoxx = { windowMs: 60_000, status: parseStatusFilter('2xx') }
  const filtered = await alternate(
    'snapshot status=2xx / 100k',
    {
      service: () => {
        // Computed each time, as for a metric written to since the last read (not the window it kept).
        filteredStore.metric.lastWindow = undefined
        return filteredStore.store.snapshot(filteredStore.metric, twoxx).p99_ns
      },
      baseline: () => {
        const v = filteredStore.samples.filter((s) => s.status >= 200 && s.status < 300).map((s) => s.value)
        v.sort((a, b) => a - b)
        return v[Math.ceil(0.99 * v.length) - 1]
      },
    },
    Math.max(5, Math.round(40 * scale)),
  )
  process.stdout.write(`${JSON.stringify({ series60, series3600, stall, filtered })}\n`)
}
