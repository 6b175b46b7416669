import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { MetricStore } from '../../store/metric-store.js'
import { scanLatencyBatch } from '../batch-body.js'
import { requireContentType } from '../content-type.js'
import { parseJsonBodies } from '../json-body.js'
import { acquireMetric } from '../metric-lookup.js'
import {
  BodyTooLargeResponse,
  InvalidLatencyError,
  MetricIdParams,
  MetricLimitResponse,
  UnsupportedMediaTypeResponse,
} from '../schemas/common.js'
import { LatencyAccepted, LatencyBody } from '../schemas/latency.js'

export const latencyRoutes: FastifyPluginAsyncTypebox<{ store: MetricStore }> = async (app, { store }) => {
  // In this plugin only: batches in the usual shape skip JSON.parse and Ajv (batch-body.ts).
  parseJsonBodies(app, scanLatencyBatch)
  app.post(
    '/metrics/:id/latency',
    {
      onRequest: requireContentType,
      schema: {
        summary: 'Record one latency sample or a batch',
        description: 'Creates the metric on first use. A batch is all-or-nothing: one bad value stores nothing.',
        params: MetricIdParams,
        body: LatencyBody,
        response: {
          202: LatencyAccepted,
          400: InvalidLatencyError,
          413: BodyTooLargeResponse,
          415: UnsupportedMediaTypeResponse,
          429: MetricLimitResponse,
        },
      },
    },
    (request, reply) => {
      const metric = acquireMetric(store, request.params.id)
      // A batch is a number[] from JSON.parse or, from the fast path, a Float64Array.
      const latency = request.body.latency_ns
      if (typeof latency === 'number') store.recordLatency(metric, latency)
      else store.recordLatencies(metric, latency)
      reply.code(202).send({ accepted: typeof latency === 'number' ? 1 : latency.length })
    },
  )
}
