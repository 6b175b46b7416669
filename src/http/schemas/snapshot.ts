import { Type } from '@sinclair/typebox'
import { NullableNumber } from './common.js'

export const ReadQuery = Type.Object({
  window_ms: Type.Optional(Type.String({ description: 'Compute over the most recent W ms (1 <= W <= WINDOW_MS)', examples: ['10000'] })),
  quantiles: Type.Optional(Type.String({ description: 'Extra quantiles, comma-separated, each 0 < q <= 1', examples: ['0.9,0.999'] })),
  status: Type.Optional(
    Type.String({
      description:
        'Only samples whose status matches count, for every windowed field: comma-separated exact statuses 0..999 or classes 1xx..9xx, at most 16. Samples without a status never match.',
      examples: ['2xx,404'],
    }),
  ),
  le_ns: Type.Optional(
    Type.String({
      description: 'SLO thresholds in ns, comma-separated integers 1..2^53-1, at most 16: adds `le` with the count and share of samples at or under each',
      examples: ['1000000,250000000'],
    }),
  ),
})

export const SeriesQuery = Type.Object({
  ...ReadQuery.properties,
  step_ms: Type.Optional(
    Type.String({
      description:
        'Step length in ms, an integer 1..2^53-1 (default: the window / 60, rounded up). A series of more than 10,000 points (counted at the time of the request) is 400',
      examples: ['1000'],
    }),
  ),
})

const LeShares = Type.Record(
  Type.String(),
  Type.Object({
    count: Type.Integer({ description: 'Samples at or under the threshold' }),
    fraction: NullableNumber,
  }),
  { description: 'Per ?le_ns= threshold (keyed as written): samples with value <= it, and their share of count (null when count is 0)' },
)

export const JobCounts = Type.Object({
  created: Type.Integer(),
  started: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
  retried: Type.Integer(),
  in_progress: Type.Integer({ description: 'max(0, started − completed − failed)' }),
})

/** The snapshot the OpenAPI document shows, alone and inside GET /metrics. */
const SNAPSHOT_EXAMPLE = {
  id: 'checkout',
  window_ms: 60000,
  count: 3,
  total: 10,
  min_ns: 1200,
  max_ns: 98000,
  mean_ns: 33566.666666666664,
  p50_ns: 1500,
  p95_ns: 98000,
  p99_ns: 98000,
  statuses: { '200': 2, '503': 1 },
  errors: 1,
  error_rate: 0.3333333333333333,
  jobs: { created: 5, started: 4, completed: 2, failed: 1, retried: 1, in_progress: 1 },
}

/** The statistics of a snapshot and of a series point (null when they count no sample), in answer order. */
const WindowedStatistics = {
  min_ns: NullableNumber,
  max_ns: NullableNumber,
  mean_ns: NullableNumber,
  p50_ns: NullableNumber,
  p95_ns: NullableNumber,
  p99_ns: NullableNumber,
  quantiles: Type.Optional(Type.Record(Type.String(), NullableNumber)),
  le: Type.Optional(LeShares),
}

export const MetricSnapshot = Type.Object(
  {
    id: Type.String(),
    window_ms: Type.Integer(),
    count: Type.Integer({ description: 'Samples in the window and still in the ring' }),
    total: Type.Integer({ description: 'Samples recorded since the id was created' }),
    ...WindowedStatistics,
    statuses: Type.Record(Type.String(), Type.Integer(), { description: 'In-window samples by status; samples without a status are not in it' }),
    errors: Type.Integer({ description: 'In-window samples whose status is 0 or >= 500' }),
    error_rate: Type.Unsafe<number | null>({
      type: ['number', 'null'],
      description: 'errors / in-window samples that have a status; null when none has',
    }),
    jobs: JobCounts,
  },
  {
    description: 'Statistics of the samples in the window (null when count is 0) and the job counters',
    examples: [SNAPSHOT_EXAMPLE],
  },
)

export const SeriesPoint = Type.Object({
  t_ms: Type.Integer({ description: 'Start of the step, Unix ms, a multiple of step_ms' }),
  count: Type.Integer({ description: 'Samples of the step (inside the window, matching ?status=)' }),
  ...WindowedStatistics,
  errors: Type.Integer({ description: 'Samples of the step whose status is 0 or >= 500' }),
})

export const Series = Type.Object(
  {
    id: Type.String(),
    window_ms: Type.Integer(),
    step_ms: Type.Integer(),
    points: Type.Array(SeriesPoint),
  },
  {
    description: 'Exact statistics per step over the window; statistics are null for a step without samples',
    examples: [
      {
        id: 'checkout',
        window_ms: 60000,
        step_ms: 1000,
        points: [
          { t_ms: 1795996034000, count: 12, min_ns: 1100, max_ns: 98000, mean_ns: 20150.5, p50_ns: 1500, p95_ns: 98000, p99_ns: 98000, errors: 1 },
          { t_ms: 1795996035000, count: 0, min_ns: null, max_ns: null, mean_ns: null, p50_ns: null, p95_ns: null, p99_ns: null, errors: 0 },
        ],
      },
    ],
  },
)

export const ServiceStatus = Type.Object({
  uptime_s: Type.Number(),
  metrics: Type.Integer({ description: 'Metric ids held now' }),
  samples_total: Type.Integer({ description: 'Samples accepted since the process started' }),
  evicted_total: Type.Integer({ description: 'Metrics removed by the idle sweep since the process started' }),
  ring_bytes: Type.Integer({ description: 'Memory held by sample rings, in bytes' }),
  limits: Type.Object(
    {
      window_ms: Type.Integer(),
      max_samples: Type.Integer(),
      max_metrics: Type.Integer(),
      idle_ttl_ms: Type.Integer({ description: '0: idle metrics are kept' }),
    },
    { description: 'The configured limits' },
  ),
  requests: Type.Object({
    total: Type.Integer(),
    in_flight: Type.Integer(),
    '2xx': Type.Integer(),
    '3xx': Type.Integer(),
    '4xx': Type.Integer(),
    '5xx': Type.Integer(),
  }),
  state_save_failures: Type.Optional(Type.Integer({ description: 'Saves of STATE_FILE that failed since the process started (only with STATE_FILE)' })),
  state_saved_at: Type.Optional(
    Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the last save of STATE_FILE succeeded (ISO 8601, UTC); null before the first one (only with STATE_FILE)',
    }),
  ),
  statsd: Type.Optional(
    Type.Object(
      {
        packets: Type.Integer({ description: 'UDP datagrams received' }),
        lines: Type.Integer({ description: 'Lines received over UDP and TCP (empty lines are not lines): ok + bad_lines + ignored_lines + dropped_lines' }),
        samples: Type.Integer({ description: 'Latency samples recorded from timer lines' }),
        bad_lines: Type.Integer({ description: 'Lines refused as malformed or out of range; nothing of them stored' }),
        ignored_lines: Type.Integer({ description: 'Gauges, sets, events, service checks and counters that are not job events' }),
        dropped_lines: Type.Integer({ description: 'Lines for a new id while MAX_METRICS ids exist' }),
      },
      { description: "The StatsD listener's counters since the process started; absent when STATSD_PORT is off" },
    ),
  ),
  otlp: Type.Optional(
    Type.Object(
      {
        requests: Type.Integer({ description: 'POST /v1/traces requests decoded and answered 200' }),
        spans: Type.Integer({ description: 'Spans recorded as samples' }),
        rejected_spans: Type.Integer({
          description: 'Spans refused (bad times or HTTP status, or a new id beyond MAX_METRICS), as reported in partialSuccess',
        }),
        skipped_spans: Type.Integer({ description: 'Spans of a kind OTLP_SPAN_KINDS leaves out' }),
      },
      { description: "The OTLP/HTTP trace endpoint's counters since the process started" },
    ),
  ),
})

export const AllMetrics = Type.Object(
  {
    window_ms: Type.Integer(),
    metrics: Type.Array(MetricSnapshot),
    service: ServiceStatus,
  },
  {
    description: 'Snapshots of every metric, sorted by id, and the service counters',
    examples: [
      {
        window_ms: 60000,
        metrics: [SNAPSHOT_EXAMPLE],
        service: {
          uptime_s: 12.5,
          metrics: 1,
          samples_total: 10,
          evicted_total: 0,
          ring_bytes: 256,
          limits: { window_ms: 60000, max_samples: 10000, max_metrics: 10000, idle_ttl_ms: 86400000 },
          requests: { total: 14, in_flight: 1, '2xx': 12, '3xx': 0, '4xx': 2, '5xx': 0 },
          statsd: { packets: 3, lines: 5, samples: 4, bad_lines: 1, ignored_lines: 0, dropped_lines: 0 },
          otlp: { requests: 2, spans: 1020, rejected_spans: 4, skipped_spans: 0 },
        },
      },
    ],
  },
)
