import { Type } from '@sinclair/typebox'
import { CONTENT_TYPES, FORMATS } from '../exposition/negotiate.js'
import { AllMetrics, ReadQuery } from './snapshot.js'

/** GET /metrics takes the read query plus ?format=, which overrides the Accept header. */
export const MetricsListQuery = Type.Object({
  ...ReadQuery.properties,
  format: Type.Optional(
    Type.String({
      description: `Response format, overriding the Accept header: ${FORMATS.join(', ')}`,
      examples: ['prometheus'],
    }),
  ),
})

const PROMETHEUS_EXAMPLE = `# HELP latency_tracker_window_latency_seconds Exact quantiles of the latencies in the sliding window per id; _sum and _count count every sample since the id was created.
# TYPE latency_tracker_window_latency_seconds summary
latency_tracker_window_latency_seconds{id="checkout",quantile="0.5"} 0.0000015
latency_tracker_window_latency_seconds{id="checkout",quantile="0.95"} 0.000098
latency_tracker_window_latency_seconds{id="checkout",quantile="0.99"} 0.000098
latency_tracker_window_latency_seconds_sum{id="checkout"} 0.0001007
latency_tracker_window_latency_seconds_count{id="checkout"} 3
# HELP latency_tracker_jobs_total Job lifecycle events per id and event.
# TYPE latency_tracker_jobs_total counter
latency_tracker_jobs_total{id="checkout",event="created"} 5
`

const OPENMETRICS_EXAMPLE = `# HELP latency_tracker_latency_seconds Latencies per id since the id was created, in fixed buckets counted at write time.
# TYPE latency_tracker_latency_seconds histogram
# UNIT latency_tracker_latency_seconds seconds
latency_tracker_latency_seconds_bucket{id="checkout",le="0.000001"} 0
latency_tracker_latency_seconds_bucket{id="checkout",le="0.0000025"} 2
latency_tracker_latency_seconds_bucket{id="checkout",le="+Inf"} 3
latency_tracker_latency_seconds_sum{id="checkout"} 0.0001007
latency_tracker_latency_seconds_count{id="checkout"} 3
# HELP latency_tracker_jobs Job lifecycle events per id and event.
# TYPE latency_tracker_jobs counter
latency_tracker_jobs_total{id="checkout",event="created"} 5
# EOF
`

/** Media type keys name the version as the Content-Type does (charset aside). */
const mediaType = (format: 'prometheus' | 'openmetrics') => CONTENT_TYPES[format].replace(/; charset=utf-8$/, '')

/**
 * GET /metrics 200, per media type. Fastify serializes the JSON with AllMetrics
 * (fast-json-stringify, exactly as before negotiation existed); the text formats
 * are strings sent as they are.
 */
export const MetricsListOk = {
  description: 'Every metric and the service counters: JSON, the Prometheus text format or OpenMetrics, by negotiation',
  headers: { Vary: { type: 'string', description: 'The answer depends on the Accept header', examples: ['Accept'] } },
  content: {
    'application/json': { schema: AllMetrics },
    [mediaType('prometheus')]: {
      schema: Type.String({ description: 'Prometheus text exposition format 0.0.4', examples: [PROMETHEUS_EXAMPLE] }),
    },
    [mediaType('openmetrics')]: {
      schema: Type.String({ description: 'OpenMetrics 1.0.0 text, ending with # EOF', examples: [OPENMETRICS_EXAMPLE] }),
    },
  },
}
