import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { MetricSnapshot, MetricStore } from '../../store/metric-store.js'
import { MetricNotFoundError } from '../errors.js'
import { requireMetric } from '../metric-lookup.js'
import { parseReadQuery } from '../read-query.js'
import { ErrorResponse, MetricIdParams } from '../schemas/common.js'
import { AllMetrics, MetricSnapshot as MetricSnapshotSchema, ReadQuery } from '../schemas/snapshot.js'

/**
 * A full read of many large rings costs tens of ms of CPU. It runs in slices of
 * about SLICE_MS, yielding to the event loop between slices so that writers
 * waiting on other connections are served in between instead of stalling.
 */
const SLICE_MS = 4

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

export const metricRoutes: FastifyPluginAsyncTypebox<{ store: MetricStore; idleTtlMs: number }> = async (
  app,
  { store, idleTtlMs },
) => {
  const startedAt = performance.now()

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Snapshots of every metric, sorted by id, and the service counters',
        querystring: ReadQuery,
        response: { 200: AllMetrics, 400: ErrorResponse },
      },
    },
    async (request) => {
      const options = parseReadQuery(request.query, store.windowMs)
      const snapshots: MetricSnapshot[] = []
      let sliceStart = performance.now()
      for (const metric of store.sorted()) {
        // A metric deleted while an earlier slice yielded is left out.
        if (store.get(metric.id) !== metric) continue
        snapshots.push(store.snapshot(metric, options))
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop()
          sliceStart = performance.now()
        }
      }
      return {
        window_ms: options.windowMs,
        metrics: snapshots,
        service: {
          uptime_s: (performance.now() - startedAt) / 1000,
          metrics: store.size,
          samples_total: store.service.samplesTotal,
          evicted_total: store.service.evictedTotal,
          ring_bytes: store.ringBytes(),
          limits: {
            window_ms: store.windowMs,
            max_samples: store.maxSamples,
            max_metrics: store.maxMetrics,
            idle_ttl_ms: idleTtlMs,
          },
          requests: store.service.requests(),
        },
      }
    },
  )

  app.get(
    '/metrics/:id',
    {
      schema: {
        summary: 'Snapshot of one metric over the sliding window',
        params: MetricIdParams,
        querystring: ReadQuery,
        response: { 200: MetricSnapshotSchema, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const metric = requireMetric(store, request.params.id)
      return store.snapshot(metric, parseReadQuery(request.query, store.windowMs))
    },
  )

  app.delete(
    '/metrics/:id',
    {
      schema: {
        summary: 'Remove one metric with its samples and counters',
        params: MetricIdParams,
        response: { 204: Type.Null({ description: 'Removed' }), 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      if (!store.delete(request.params.id)) throw new MetricNotFoundError(request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/metrics',
    {
      schema: {
        summary: 'Remove every metric (service counters and uptime are kept)',
        response: { 204: Type.Null({ description: 'Removed' }) },
      },
    },
    async (_request, reply) => {
      store.clear()
      return reply.code(204).send(null)
    },
  )
}
