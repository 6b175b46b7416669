// The S5 dashboard poller, run as its own process so that its reads are timed outside the
// bench process (which is busy running autocannon). Started ahead of the measurement, it
// prints "ready", waits for "go" on stdin, then does GET /metrics every periodMs (never two
// at once) for durationMs and prints {reads_ms, late, failures} as JSON.
//   node bench/lib/poller.mjs <baseUrl> <periodMs> <durationMs>
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { request } from './http.mjs'
import { childEnv, track } from './servers.mjs'

const SELF = fileURLToPath(import.meta.url)

/** Starts the poller process and resolves once it is ready; go() starts polling and resolves with its result. */
export async function startPoller(url, periodMs, durationMs) {
  const child = track(spawn(process.execPath, [SELF, url, String(periodMs), String(durationMs)], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] }))
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const exited = once(child, 'exit')
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`poller not ready in 10 s: ${stderr}`)), 10_000)
    const check = () => {
      if (stderr.includes('ready')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stderr.on('data', check)
    exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`poller exited before ready: ${stderr}`))
    })
  })
  await ready
  return {
    async go() {
      const deadline = setTimeout(() => child.kill('SIGKILL'), durationMs + 120_000)
      child.stdin.end('go\n')
      const [code] = await exited
      clearTimeout(deadline)
      if (code !== 0) throw new Error(`poller failed (${code}): ${stderr}`)
      return JSON.parse(stdout.trim().split('\n').at(-1))
    },
  }
}

if (process.argv[1] === SELF) {
  const [url, periodArg, durationArg] = process.argv.slice(2)
  const periodMs = Number(periodArg)
  const durationMs = Number(durationArg)
  const maxReads = Math.ceil(durationMs / periodMs) * 2 + 2
  process.stderr.write('ready\n')
  process.stdin.setEncoding('utf8')
  for await (const chunk of process.stdin) if (chunk.includes('go')) break
  const start = performance.now()
  const reads = []
  let late = 0
  let failures = 0
  let next = start
  for (let i = 0; i < maxReads && performance.now() - start < durationMs; i++) {
    const res = await request(url, 'GET', '/metrics', undefined, { timeoutMs: 60_000 })
    if (res.status === 200) reads.push(res.ms)
    else failures++
    next += periodMs
    const wait = next - performance.now()
    if (wait <= 0) {
      late++ // the read took longer than the period: the next one starts at once
      next = performance.now()
    } else {
      const left = start + durationMs - performance.now()
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left)))
    }
  }
  process.stdout.write(`${JSON.stringify({ reads_ms: reads, late, failures })}\n`)
  process.exit(0)
}
