import { describe, expect, it } from 'vitest'
import { buildApp } from '../src/http/app.js'
import { MetricStore } from '../src/store/metric-store.js'

describe('POST /v1/traces in the OpenAPI document', () => {
  it('is documented with both encodings for the body, the answer and the errors', async () => {
    const app = buildApp(new MetricStore({ windowMs: 60_000, maxSamples: 10_000, maxMetrics: 10_000 }), { logLevel: 'silent' })
    try {
      const doc = (await app.inject({ url: '/docs/json' })).json()
      const op = doc.paths['/v1/traces'].post
      expect(op.summary).toMatch(/OTLP\/HTTP/)
      expect(Object.keys(op.requestBody.content).sort()).toEqual(['application/json', 'application/x-protobuf'])
      expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '403', '413', '415', '503'])
      for (const status of Object.keys(op.responses)) {
        expect(Object.keys(op.responses[status].content).sort(), status).toEqual(['application/json', 'application/x-protobuf'])
      }
      expect(op.responses['200'].content['application/json'].schema.properties).toHaveProperty('partialSuccess')
      expect(op.responses['400'].content['application/json'].schema.properties).toHaveProperty('code')
    } finally {
      await app.close()
    }
  })
})
