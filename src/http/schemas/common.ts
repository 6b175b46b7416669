import { Type } from '@sinclair/typebox'

/** Metric ids: what fits in a URL path segment and a Prometheus label unescaped. */
export const METRIC_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,128}$'

export const MetricIdParams = Type.Object(
  {
    id: Type.String({
      pattern: METRIC_ID_PATTERN,
      description: 'Metric id: 1–128 characters from A-Z a-z 0-9 _ . : -',
      examples: ['checkout'],
    }),
  },
  { additionalProperties: false },
)

/** number-or-null as a JSON Schema type list, which fast-json-stringify serializes without trial validation. */
export const NullableNumber = Type.Unsafe<number | null>({ type: ['number', 'null'] })

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer({ examples: [400] }),
    code: Type.Optional(Type.String({ examples: ['FST_ERR_VALIDATION'] })),
    error: Type.String({ examples: ['Bad Request'] }),
    message: Type.String({ examples: ['body/latency_ns must be >= 1'] }),
  },
  { description: 'Error' },
)
