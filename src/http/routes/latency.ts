import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { MetricStore } from '../../store/metric-store.js'
import { NO_STATUS } from '../../store/sample-layout.js'
import { BatchScanner } from '../batch-body.js'
import { parseJsonBodies } from '../json-body.js'
import { refusalError } from '../errors.js'
import { BodyTooLargeResponse, InvalidLatencyError, MetricIdParams, MetricLimitResponse, UnsupportedMediaTypeResponse } from '../schemas/common.js'
import { LatencyAccepted, LatencyBody } from '../schemas/latency.js'

export const latencyRoutes: FastifyPluginAsyncTypebox<{ store: MetricStore }> = async (app, { store }) => {
  // In this plugin only: batches in the usual shape skip JSON.parse and Ajv (batch-body.ts).
  const scanner = new BatchScanner()
  parseJsonBodies(app, (body) => scanner.scan(body))
  app.post(
    '/metrics/:id/latency',
    {
      schema: {
        summary: 'Record one latency sample or a batch',
        description:
          'Creates the metric on first use. A batch is all-or-nothing: one bad value, or a status array whose length differs from the batch, stores nothing.',
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
      // From JSON.parse, a batch is a number[]; from the fast path (batch-body.ts), a Float64Array.
      const { latency_ns: latency, status = NO_STATUS } = request.body
      const accepted = store.ingestSamples(request.params.id, latency, status)
      // The store copied what it keeps: a scanned batch's arrays may be reused for the next body.
      scanner.release(request.body)
      if (typeof accepted !== 'number') throw refusalError(accepted)
      reply.code(202).send({ accepted })
    },
  )
}
