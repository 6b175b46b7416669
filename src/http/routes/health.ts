import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { StateSaveStatus } from '../../store/state-persistence.js'
import { RETRY_AFTER_HEADER } from '../schemas/common.js'

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')], {
    description: 'degraded: the event loop is overloaded and other routes answer 503',
  }),
  state: Type.Optional(
    Type.Literal('failing', {
      description: 'Only while the last save of STATE_FILE failed: the service keeps serving, but what it records would not survive a restart',
    }),
  ),
})

export const healthRoutes: FastifyPluginAsyncTypebox<{ retryAfterS: number; stateSaves?: StateSaveStatus }> = async (app, { retryAfterS, stateSaves }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness and overload check (no token needed)',
        response: {
          200: { ...Health, description: 'Serving', examples: [{ status: 'ok' }, { status: 'ok', state: 'failing' }] },
          503: { ...Health, description: 'Overloaded: retry later', examples: [{ status: 'degraded' }], headers: RETRY_AFTER_HEADER },
        },
      },
    },
    async (_request, reply) => {
      const state = stateSaves?.failing === true ? { state: 'failing' as const } : {}
      if (!app.isUnderPressure()) return { status: 'ok' as const, ...state }
      reply.code(503).header('retry-after', retryAfterS)
      return { status: 'degraded' as const, ...state }
    },
  )
}
