import { Type } from '@sinclair/typebox'

export const MAX_LATENCY_NS = Number.MAX_SAFE_INTEGER
export const MAX_BATCH = 10_000

const LatencyNs = Type.Integer({ minimum: 1, maximum: MAX_LATENCY_NS })

export const LatencyBody = Type.Object(
  {
    latency_ns: Type.Union(
      [LatencyNs, Type.Array(LatencyNs, { minItems: 1, maxItems: MAX_BATCH })],
      {
        description: `One latency in nanoseconds, or a batch of 1–${MAX_BATCH} (all-or-nothing)`,
        examples: [1500, [1200, 1500, 98000]],
      },
    ),
  },
  {
    additionalProperties: false,
    description: 'Latency samples in nanoseconds: one value or a batch',
    examples: [{ latency_ns: [1200, 1500, 98000] }, { latency_ns: 1500 }],
  },
)

export const LatencyAccepted = Type.Object(
  { accepted: Type.Integer({ description: 'Samples stored', examples: [3] }) },
  { description: 'Stored: the metric is created on first use', examples: [{ accepted: 3 }] },
)
