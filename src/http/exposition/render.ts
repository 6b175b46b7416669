import { JOB_EVENTS, type Metric } from '../../store/metric.js'
import type { OtlpCounters } from '../../otlp/otlp-counters.js'
import type { StatsdCounters } from '../../statsd/statsd-counters.js'
import type { MetricStore } from '../../store/metric-store.js'
import { STANDARD_QUANTILES } from '../../store/range-summary.js'
import type { ReadOptions } from '../../store/read-options.js'
import type { StateSaveStatus } from '../../store/state-persistence.js'
import { renderProcessMetrics } from './process-metrics.js'
import { Family, type TextFormat, formatValue, labelSet, seconds } from './text-format.js'

/**
 * GET /metrics in the Prometheus text format or OpenMetrics. Every family is in
 * seconds (the base unit); the order of families, series and labels is fixed.
 *
 * Windowed versus cumulative:
 * - latency_tracker_window_latency_seconds is a summary whose quantiles are
 *   exact nearest-rank quantiles over the sliding window (as in the JSON). Its
 *   _sum and _count are cumulative since the id was created, as Prometheus client
 *   libraries do for windowed summaries: both formats define a summary's _sum
 *   and _count as counters, and rate(_sum)/rate(_count) must stay meaningful. A
 *   count that falls as samples leave the window would read as a counter reset.
 *   The number of samples in the window is its own gauge, latency_tracker_window_samples.
 * - latency_tracker_latency_seconds is a cumulative histogram over fixed bounds,
 *   counted at write time: the family to aggregate across instances
 *   (histogram_quantile over sum by (le) of rate(_bucket)).
 * - Job, sample and request counters are cumulative counters; in-progress jobs,
 *   in-flight requests, ids held and ring memory are gauges.
 */
export async function renderExposition(
  store: MetricStore,
  options: ReadOptions,
  format: TextFormat,
  statsd?: StatsdCounters,
  stateSaves?: StateSaveStatus,
  otlp?: OtlpCounters,
): Promise<Buffer[]> {
  const summary = new Family(
    'latency_tracker_window_latency_seconds',
    'summary',
    'Exact quantiles of the latencies in the sliding window per id; _sum and _count count every sample since the id was created.',
    'seconds',
  )
  const windowSamples = new Family('latency_tracker_window_samples', 'gauge', 'Samples in the sliding window per id.')
  const windowErrors = new Family('latency_tracker_window_errors', 'gauge', 'Samples in the sliding window per id whose status is 0 (no response) or >= 500.')
  const responses = new Family('latency_tracker_responses_total', 'counter', 'Samples per id and status since the id was created.')
  const histogram = new Family(
    'latency_tracker_latency_seconds',
    'histogram',
    'Latencies per id since the id was created, in fixed buckets counted at write time.',
    'seconds',
  )
  const jobs = new Family('latency_tracker_jobs_total', 'counter', 'Job lifecycle events per id and event.')
  const inProgress = new Family('latency_tracker_jobs_in_progress', 'gauge', 'Jobs started and not yet completed or failed, per id.')
  const ringBytes = new Family('latency_tracker_sample_ring_bytes', 'gauge', 'Memory held by the sample rings of all ids.')
  const ids = new Family('latency_tracker_metric_ids', 'gauge', 'Metric ids held now.')
  const samples = new Family('latency_tracker_samples_total', 'counter', 'Samples accepted since the process started.')
  const evicted = new Family('latency_tracker_evicted_metrics_total', 'counter', 'Metric ids removed by the idle sweep since the process started.')
  const requests = new Family('latency_tracker_http_requests_total', 'counter', 'HTTP responses sent, by status class.')
  const inFlight = new Family('latency_tracker_http_requests_in_flight', 'gauge', 'HTTP requests received and not yet answered.')

  // The label text after the id, built once per scrape: `,quantile="0.5"}`, `,le="0.001"}`, `,event="created"}`.
  const quantiles = quantileLabels(options).map((q) => ({ index: q.index, rest: `,quantile="${q.label}"}` }))
  const buckets = [...store.bucketBoundsNs].map((b) => `,le="${formatValue(seconds(b))}"}`)
  buckets.push(',le="+Inf"}')
  const events = JOB_EVENTS.map((event) => ({ event, rest: `,event="${event}"}` }))
  let bytes = 0

  await store.forEachInSlices((metric: Metric) => {
    const s = store.windowStats(metric, options, false)
    const idLabel = labelSet([['id', metric.id]])
    const idPrefix = idLabel.slice(0, -1)
    // An empty window gives NaN, as Prometheus clients report an empty summary.
    for (const q of quantiles) summary.sample('', idPrefix + q.rest, s.count === 0 ? NaN : seconds(s.quantiles[q.index]))
    summary.sample('_sum', idLabel, seconds(metric.sumNs))
    summary.sample('_count', idLabel, metric.total)
    windowSamples.sample('', idLabel, s.count)
    windowErrors.sample('', idLabel, s.errors)
    for (const [status, count] of metric.statusCounts()) responses.sample('', `${idPrefix},status="${status}"}`, count)

    let cumulative = 0
    for (let i = 0; i < buckets.length; i++) {
      cumulative += metric.bucketCount(i)
      histogram.sample('_bucket', idPrefix + buckets[i], cumulative)
    }
    histogram.sample('_sum', idLabel, seconds(metric.histogramSumNs))
    histogram.sample('_count', idLabel, cumulative)

    const jobCounts = metric.jobCounts()
    for (const e of events) jobs.sample('', idPrefix + e.rest, jobCounts[e.event])
    inProgress.sample('', idLabel, jobCounts.in_progress)
    bytes += metric.byteLength
  })

  const service = store.service
  ringBytes.sample('', '', bytes)
  ids.sample('', '', store.size)
  samples.sample('', '', store.samplesTotal)
  evicted.sample('', '', service.evictedTotal)
  const byClass = service.responsesByClass()
  for (let c = 1; c <= 5; c++) requests.sample('', `{class="${c}xx"}`, byClass[c - 1])
  inFlight.sample('', '', service.inFlight)

  const families = [summary, windowSamples, windowErrors, histogram, responses, jobs, inProgress, ringBytes, ids, samples, evicted, requests, inFlight]
  if (statsd !== undefined) families.push(...statsdFamilies(statsd))
  if (otlp !== undefined) families.push(...otlpFamilies(otlp))
  if (stateSaves !== undefined) families.push(...stateSaveFamilies(stateSaves))
  const out = families.flatMap((family) => family.render(format))
  out.push(Buffer.from(await renderProcessMetrics(format)))
  if (format === 'openmetrics') out.push(Buffer.from('# EOF\n'))
  return out
}

/** The StatsD listener's counters; lines by result, where ok is every line the store recorded. */
function statsdFamilies(statsd: StatsdCounters): Family[] {
  const c = statsd.counts()
  const packets = new Family('latency_tracker_statsd_packets_total', 'counter', 'UDP datagrams received by the StatsD listener.')
  packets.sample('', '', c.packets)
  const lines = new Family(
    'latency_tracker_statsd_lines_total',
    'counter',
    'StatsD lines received over UDP and TCP by result: ok (recorded), bad (malformed or out of range), ignored (not a timer or job counter), dropped (a new id beyond MAX_METRICS).',
  )
  lines.sample('', '{result="ok"}', c.lines - c.bad_lines - c.ignored_lines - c.dropped_lines)
  lines.sample('', '{result="bad"}', c.bad_lines)
  lines.sample('', '{result="ignored"}', c.ignored_lines)
  lines.sample('', '{result="dropped"}', c.dropped_lines)
  const samples = new Family('latency_tracker_statsd_samples_total', 'counter', 'Latency samples recorded from StatsD timer lines.')
  samples.sample('', '', c.samples)
  return [packets, lines, samples]
}

function otlpFamilies(otlp: OtlpCounters): Family[] {
  const requests = new Family('latency_tracker_otlp_requests_total', 'counter', 'OTLP/HTTP export requests to /v1/traces decoded and answered 200.')
  requests.sample('', '', otlp.requests)
  const spans = new Family(
    'latency_tracker_otlp_spans_total',
    'counter',
    'OTLP spans by result: recorded (a sample), rejected (bad times or HTTP status, or a new id beyond MAX_METRICS), skipped (a kind OTLP_SPAN_KINDS leaves out).',
  )
  spans.sample('', '{result="recorded"}', otlp.spans)
  spans.sample('', '{result="rejected"}', otlp.rejectedSpans)
  spans.sample('', '{result="skipped"}', otlp.skippedSpans)
  return [requests, spans]
}

/** How saving STATE_FILE goes: alert on a growing failure count, or on the age of the last good save. */
function stateSaveFamilies(saves: StateSaveStatus): Family[] {
  const failures = new Family('latency_tracker_state_save_failures_total', 'counter', 'Saves of STATE_FILE that failed since the process started.')
  failures.sample('', '', saves.failures)
  const savedAt = new Family(
    'latency_tracker_state_last_save_timestamp_seconds',
    'gauge',
    'Unix time of the last save of STATE_FILE that succeeded; absent before the first one.',
    'seconds',
  )
  if (saves.savedAtMs !== undefined) savedAt.sample('', '', saves.savedAtMs / 1000)
  return [failures, savedAt]
}

interface QuantileLabel {
  /** Where the window's statistics hold it: an index into RangeStats.quantiles. */
  index: number
  /** The quantile as a canonical number, so "0.90" and "0.9" are one series. */
  label: string
  value: number
}

/** 0.5, 0.95, 0.99 and the ?quantiles= ones, each label once, ascending (whatever order the query gave). */
function quantileLabels(options: ReadOptions): QuantileLabel[] {
  const all = [...STANDARD_QUANTILES, ...(options.quantiles ?? [])]
  const out: QuantileLabel[] = []
  const seen = new Set<string>()
  for (let index = 0; index < all.length; index++) {
    const label = formatValue(all[index].value)
    if (seen.has(label)) continue
    seen.add(label)
    out.push({ index, label, value: all[index].value })
  }
  return out.sort((a, b) => a.value - b.value)
}
