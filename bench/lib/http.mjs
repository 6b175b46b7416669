// Small HTTP helpers for setup (prefill), checks and the readers that autocannon
// does not cover (sequential full reads, the S5 poller, the soak sampler).
import http from 'node:http'
import { performance } from 'node:perf_hooks'

export const JSON_HEADERS = { 'content-type': 'application/json' }

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

/** One request; resolves with status, body text and the time to the last byte in ms. */
export function request(baseUrl, method, path, body, { timeoutMs = 30_000, headers = {}, fresh = false } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, baseUrl)
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const start = performance.now()
    const req = http.request(
      url,
      {
        method,
        agent: fresh ? false : agent,
        headers: payload === undefined ? headers : { ...JSON_HEADERS, ...headers, 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - start }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(payload)
  })
}

export async function getJson(baseUrl, path) {
  const res = await request(baseUrl, 'GET', path)
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body.slice(0, 300)}`)
  return JSON.parse(res.body)
}

/**
 * Fills every id with samplesPerId samples through batch POSTs of `batch` values
 * (bodies taken round-robin from `bodies`, each holding `batch` values), with a
 * few requests in flight. Bounded: exactly ids × samplesPerId / batch requests.
 */
export async function prefill(baseUrl, ids, samplesPerId, bodies, { concurrency = 4, onProgress } = {}) {
  const batch = JSON.parse(bodies[0]).latency_ns.length
  if (samplesPerId % batch !== 0) throw new Error(`samplesPerId ${samplesPerId} is not a multiple of ${batch}`)
  const perId = samplesPerId / batch
  const total = ids.length * perId
  let next = 0
  let done = 0
  let lastReport = performance.now()
  async function worker() {
    while (next < total) {
      const job = next++
      const id = ids[Math.floor(job / perId)]
      const body = bodies[(job * 7 + Math.floor(job / perId)) % bodies.length]
      const res = await request(baseUrl, 'POST', `/metrics/${id}/latency`, body)
      if (res.status !== 202) throw new Error(`prefill POST /metrics/${id}/latency: ${res.status} ${res.body.slice(0, 300)}`)
      done++
      if (onProgress && performance.now() - lastReport > 2000) {
        lastReport = performance.now()
        onProgress(done, total)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return total
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
