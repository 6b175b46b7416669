// The baseline every HTTP scenario is compared with: a minimal Fastify 5 server with
// the service's route POST /metrics/:id/latency and the service's TypeBox body schema
// (imported from the build), validated with the same Ajv options. The handler stores
// the values in a plain array per id (capped at MAX_SAMPLES, oldest overwritten) and
// answers 202 {accepted}. No logger, no params schema, no response schema, no hooks.
//
// For the read scenarios (S3, S4) it also answers GET /metrics/:id and GET /metrics
// the obvious way: copy each id's values, sort them, read the nearest ranks. There is
// no sliding window (no timestamps are kept): every stored value counts.
//
// Started by the bench with HOST/PORT; prints "listening on http://HOST:PORT".
import Fastify from 'fastify'
import { LatencyBody } from '../dist/http/schemas/latency.js'
import { PlainSeries, naiveSnapshot } from './lib/plain-series.mjs'

const cap = Number(process.env.MAX_SAMPLES ?? 10_000)
const series = new Map()

const app = Fastify({
  logger: false,
  bodyLimit: 1024 * 1024,
  ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: true } },
})

app.post('/metrics/:id/latency', { schema: { body: LatencyBody } }, (request, reply) => {
  const id = request.params.id
  let s = series.get(id)
  if (s === undefined) {
    s = new PlainSeries(cap)
    series.set(id, s)
  }
  const latency = request.body.latency_ns
  if (typeof latency === 'number') {
    s.push(latency)
    reply.code(202).send({ accepted: 1 })
  } else {
    for (let i = 0; i < latency.length; i++) s.push(latency[i])
    reply.code(202).send({ accepted: latency.length })
  }
})

app.get('/metrics/:id', (request, reply) => {
  const s = series.get(request.params.id)
  if (s === undefined) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'no such metric' })
  return reply.send(naiveSnapshot(request.params.id, s.values))
})

app.get('/metrics', () => {
  const ids = [...series.keys()].sort()
  return { metrics: ids.map((id) => naiveSnapshot(id, series.get(id).values)) }
})

const host = process.env.HOST ?? '127.0.0.1'
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host })
process.stdout.write(`baseline listening on ${address}\n`)

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}
