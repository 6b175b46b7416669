// autocannon (programmatic API) wrapped for the scenarios.
import autocannon from 'autocannon'

let current = null
/** Stops a running autocannon instance (used on SIGINT). */
export function stopLoad() {
  if (current) current.stop()
}

/**
 * Runs autocannon for `duration` seconds against `url` with `requests` (each
 * connection starts at a different offset of the list, so ids are spread) and
 * returns 2xx responses per second, latency percentiles (ms, autocannon records
 * whole milliseconds) and the failure counts.
 */
export async function runLoad(url, { connections, duration, requests, rotate = true, overallRate, timeout = 10 }) {
  let clientIndex = 0
  const step = Math.max(1, Math.floor(requests.length / connections))
  const opts = {
    url,
    connections,
    duration,
    pipelining: 1,
    timeout,
    requests,
    ...(overallRate ? { overallRate } : {}),
    ...(rotate && requests.length > 1
      ? {
          setupClient(client) {
            const offset = (clientIndex++ * step) % requests.length
            if (offset !== 0) client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)].map((r) => ({ ...r })))
          },
        }
      : {}),
  }
  const instance = autocannon(opts)
  current = instance
  let result
  try {
    result = await instance
  } finally {
    current = null
  }
  return summarize(result)
}

export function summarize(result) {
  return {
    rps: result['2xx'] / result.duration,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    total: result.requests.total,
    ok_2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    duration_s: result.duration,
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
  }
}

/** Text for a progress line. */
export function describe(r) {
  const fail = r.non2xx + r.errors + r.timeouts
  return `${Math.round(r.rps).toLocaleString('en-US')} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms${fail ? `, ${fail} failed (non-2xx ${r.non2xx}, errors ${r.errors})` : ''}`
}

/** Failures over all rounds, for a row note. */
export function failures(results) {
  const f = results.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0)
  return f === 0 ? undefined : `${f} requests failed (non-2xx/errors/timeouts)`
}

/**
 * The comparison every HTTP scenario makes: warm both servers up, then measure
 * service and baseline alternately (ctx.alternate) with the same load.
 */
export async function warmUpAndAlternate(ctx, service, baseline, load, seconds, describeRound = describe) {
  ctx.progress(`warm-up ${ctx.warmupS} s each`)
  await load(service, ctx.warmupS)
  await load(baseline, ctx.warmupS)
  return ctx.alternate({ service: () => load(service, seconds), baseline: () => load(baseline, seconds) }, describeRound)
}

/** The p99 row that goes under every throughput row. */
export function p99Row(ctx, rounds) {
  return ctx.row({
    metric: 'p99 latency',
    unit: 'ms',
    service: rounds.service.map((x) => x.p99_ms),
    baseline: rounds.baseline.map((x) => x.p99_ms),
  })
}
