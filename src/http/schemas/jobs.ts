import { Type } from '@sinclair/typebox'
import { MAX_JOB_COUNT } from '../../store/ingest.js'
import { JOB_EVENTS, type JobEvent } from '../../store/metric.js'

export const JobBody = Type.Object(
  {
    // A plain enum (not a union of literals) so a bad value reads "must be equal to one of the allowed values".
    event: Type.Unsafe<JobEvent>({ type: 'string', enum: [...JOB_EVENTS], description: 'Job lifecycle event', examples: ['completed'] }),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_JOB_COUNT, default: 1, description: 'How many such events (default 1)', examples: [1] })),
  },
  {
    additionalProperties: false,
    description: 'A job lifecycle event, counted count times',
    examples: [{ event: 'completed' }, { event: 'started', count: 4 }],
  },
)

export const JobAccepted = Type.Object(
  { accepted: Type.Integer({ description: 'Events counted', examples: [1] }) },
  { description: 'Counted: the metric is created on first use', examples: [{ accepted: 1 }] },
)
