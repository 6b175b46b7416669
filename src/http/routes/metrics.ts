import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { OtlpCounters } from '../../otlp/otlp-counters.js'
import type { StatsdCounters } from '../../statsd/statsd-counters.js'
import { MAX_SERIES_POINTS, MetricRemoved, type MetricSnapshot, type MetricStore, TooManyPoints } from '../../store/metric-store.js'
import type { StateSaveStatus } from '../../store/state-persistence.js'
import { BadQueryError, MetricNotFoundError } from '../errors.js'
import { CONTENT_TYPES, negotiate, parseFormat } from '../exposition/negotiate.js'
import { startProcessMetrics } from '../exposition/process-metrics.js'
import { renderExposition } from '../exposition/render.js'
import { requireMetric } from '../metric-lookup.js'
import { parseReadQuery } from '../read-query.js'
import {
  BodyTooLargeResponse,
  DeleteBodyError,
  InvalidReadError,
  MetricIdParams,
  MetricNotFoundResponse,
  UnsupportedMediaTypeResponse,
} from '../schemas/common.js'
import { MetricsListOk, MetricsListQuery } from '../schemas/exposition.js'
import { MetricSnapshot as MetricSnapshotSchema, ReadQuery, Series, SeriesQuery } from '../schemas/snapshot.js'

export const metricRoutes: FastifyPluginAsyncTypebox<{
  store: MetricStore
  idleTtlMs: number
  statsd?: StatsdCounters
  stateSaves?: StateSaveStatus
  otlp?: OtlpCounters
}> = async (app, { store, idleTtlMs, statsd, stateSaves, otlp }) => {
  const startedAt = performance.now()
  startProcessMetrics()

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Snapshots of every metric, sorted by id, and the service counters',
        description:
          'JSON unless the Accept header prefers the Prometheus text format (text/plain; version=0.0.4) or OpenMetrics (application/openmetrics-text); ?format= overrides the header.',
        querystring: MetricsListQuery,
        response: { 200: MetricsListOk, 400: InvalidReadError },
      },
    },
    async (request, reply) => {
      const options = parseReadQuery(request.query, store.windowMs)
      const format = request.query.format === undefined ? negotiate(request.headers.accept) : parseFormat(request.query.format)
      reply.header('vary', 'Accept')
      if (format !== 'json') {
        // UTF-8 chunks, streamed: no single multi-MB string to flatten and encode in one go.
        // (The type provider types payloads from the JSON schemas; a stream of text is what
        // the text/plain and OpenMetrics entries of the 200 schema describe.)
        const chunks = await renderExposition(store, options, format, statsd, stateSaves, otlp)
        reply.type(CONTENT_TYPES[format])
        return (reply as unknown as FastifyReply).send(Readable.from(chunks, { objectMode: false }))
      }
      const snapshots: MetricSnapshot[] = []
      await store.forEachInSlices((metric) => {
        snapshots.push(store.snapshot(metric, options))
      })
      return {
        window_ms: options.windowMs,
        metrics: snapshots,
        service: {
          uptime_s: (performance.now() - startedAt) / 1000,
          metrics: store.size,
          samples_total: store.samplesTotal,
          evicted_total: store.service.evictedTotal,
          ring_bytes: store.ringBytes(),
          limits: {
            window_ms: store.windowMs,
            max_samples: store.maxSamples,
            max_metrics: store.maxMetrics,
            idle_ttl_ms: idleTtlMs,
          },
          requests: store.service.requests(),
          ...(stateSaves === undefined
            ? {}
            : {
                state_save_failures: stateSaves.failures,
                state_saved_at: stateSaves.savedAtMs === undefined ? null : new Date(stateSaves.savedAtMs).toISOString(),
              }),
          ...(statsd === undefined ? {} : { statsd: statsd.counts() }),
          ...(otlp === undefined ? {} : { otlp: otlp.snapshot() }),
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
        response: { 200: MetricSnapshotSchema, 400: InvalidReadError, 404: MetricNotFoundResponse },
      },
    },
    async (request) => {
      const metric = requireMetric(store, request.params.id)
      return store.snapshot(metric, parseReadQuery(request.query, store.windowMs))
    },
  )

  app.get(
    '/metrics/:id/series',
    {
      schema: {
        summary: 'Exact statistics of one metric per time step over the window',
        description:
          'One point per step of step_ms (t_ms a multiple of step_ms, in Unix ms) that overlaps the window, oldest first, empty steps included; the first point holds only samples inside the window, the last is the step in progress.',
        params: MetricIdParams,
        querystring: SeriesQuery,
        response: { 200: Series, 400: InvalidReadError, 404: MetricNotFoundResponse },
      },
    },
    async (request) => {
      const metric = requireMetric(store, request.params.id)
      const options = parseReadQuery(request.query, store.windowMs)
      const stepMs = parseStep(request.query.step_ms, options.windowMs)
      const series = await store.series(metric, options, stepMs)
      // Deleted while its steps were computed: as if the DELETE had come first.
      if (series instanceof MetricRemoved) throw new MetricNotFoundError(request.params.id)
      if (series instanceof TooManyPoints) {
        throw new BadQueryError(
          `step_ms ${stepMs} over window_ms ${options.windowMs} gives ${series.points} points; a series has at most ${MAX_SERIES_POINTS}: use a larger step_ms or a shorter window_ms`,
        )
      }
      return series
    },
  )

  app.delete(
    '/metrics/:id',
    {
      schema: {
        summary: 'Remove one metric with its samples and counters',
        params: MetricIdParams,
        response: {
          204: Type.Null({ description: 'Removed' }),
          400: DeleteBodyError,
          404: MetricNotFoundResponse,
          413: BodyTooLargeResponse,
          415: UnsupportedMediaTypeResponse,
        },
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
        response: {
          204: Type.Null({ description: 'Every metric removed' }),
          400: DeleteBodyError,
          413: BodyTooLargeResponse,
          415: UnsupportedMediaTypeResponse,
        },
      },
    },
    async (_request, reply) => {
      store.clear()
      return reply.code(204).send(null)
    },
  )
}

/**
 * ?step_ms=: an integer 1..2^53-1, so exact; by default the window / 60, rounded up.
 * Whether it gives too many points is the series' own check (MetricStore.series).
 */
function parseStep(text: string | undefined, windowMs: number): number {
  if (text === undefined) return Math.ceil(windowMs / 60)
  const step = /^\d{1,16}$/.test(text) ? Number(text) : NaN
  if (!(step >= 1 && step <= Number.MAX_SAFE_INTEGER)) {
    throw new BadQueryError(`step_ms must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got "${text}"`)
  }
  return step
}
