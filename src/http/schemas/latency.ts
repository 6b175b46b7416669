import { Type } from '@sinclair/typebox'
import { MAX_BATCH } from '../../store/ingest.js'
import { MAX_LATENCY_NS, MAX_STATUS, MIN_LATENCY_NS } from '../../store/sample-layout.js'

const LatencyNs = Type.Integer({ minimum: MIN_LATENCY_NS, maximum: MAX_LATENCY_NS })
const Status = Type.Integer({ minimum: 0, maximum: MAX_STATUS })

export const LatencyBody = Type.Object(
  {
    latency_ns: Type.Union([LatencyNs, Type.Array(LatencyNs, { minItems: 1, maxItems: MAX_BATCH })], {
      description: `One latency in nanoseconds, or a batch of 1–${MAX_BATCH} (all-or-nothing)`,
      examples: [1500, [1200, 1500, 98000]],
    }),
    status: Type.Optional(
      Type.Union([Status, Type.Array(Status, { minItems: 1, maxItems: MAX_BATCH })], {
        description:
          'Optional status of the samples, 0..999 (0: no response, e.g. a timeout; otherwise HTTP-like): one for every value, or, with a batch, one per value',
        examples: [200, [200, 200, 503]],
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Latency samples in nanoseconds, one value or a batch, with an optional status',
    examples: [{ latency_ns: [1200, 1500, 98000] }, { latency_ns: 1500, status: 200 }, { latency_ns: [1200, 98000], status: [200, 503] }],
  },
)

export const LatencyAccepted = Type.Object(
  { accepted: Type.Integer({ description: 'Samples stored', examples: [3] }) },
  { description: 'Stored: the metric is created on first use', examples: [{ accepted: 3 }] },
)
