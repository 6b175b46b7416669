import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { MetricStore } from '../../store/metric-store.js'
import { refusalError } from '../errors.js'
import { BodyTooLargeResponse, InvalidJobError, MetricIdParams, MetricLimitResponse, UnsupportedMediaTypeResponse } from '../schemas/common.js'
import { JobAccepted, JobBody } from '../schemas/jobs.js'

export const jobRoutes: FastifyPluginAsyncTypebox<{ store: MetricStore }> = async (app, { store }) => {
  app.post(
    '/metrics/:id/jobs',
    {
      schema: {
        summary: 'Count job lifecycle events',
        description: 'Creates the metric on first use. in_progress is max(0, started − completed − failed).',
        params: MetricIdParams,
        body: JobBody,
        response: {
          202: JobAccepted,
          400: InvalidJobError,
          413: BodyTooLargeResponse,
          415: UnsupportedMediaTypeResponse,
          429: MetricLimitResponse,
        },
      },
    },
    (request, reply) => {
      const { event, count = 1 } = request.body
      const accepted = store.ingestJobEvents(request.params.id, event, count)
      if (typeof accepted !== 'number') throw refusalError(accepted)
      reply.code(202).send({ accepted })
    },
  )
}
