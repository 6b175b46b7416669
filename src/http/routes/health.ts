import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')], {
    description: 'degraded: the event loop is overloaded and other routes answer 503',
  }),
})

export const healthRoutes: FastifyPluginAsyncTypebox<{ retryAfterS: number }> = async (app, { retryAfterS }) => {
  app.get(
    '/healthz',
    {
      // Under pressure every other route is refused with 503; this one answers, to say so.
      config: { pressureHandler: () => undefined },
      schema: {
        summary: 'Liveness and overload check (no token needed)',
        response: {
          200: { ...Health, description: 'Serving', examples: [{ status: 'ok' }] },
          503: { ...Health, description: 'Overloaded: retry later', examples: [{ status: 'degraded' }] },
        },
      },
    },
    async (_request, reply) => {
      if (!app.isUnderPressure()) return { status: 'ok' as const }
      reply.code(503).header('retry-after', retryAfterS)
      return { status: 'degraded' as const }
    },
  )
}
