// Child processes for the benchmarks: the built service (dist/main.js, as `npm start`
// runs it) and the minimal Fastify baseline. Every child is tracked by PID and killed
// when the bench process exits, on error or on SIGINT/SIGTERM (see installCleanup).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const SERVICE_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))
export const BASELINE_MAIN = fileURLToPath(new URL('../baseline-server.mjs', import.meta.url))

/** Service settings that must not leak in from the caller's environment. */
const SERVICE_ENV = [
  'PORT',
  'HOST',
  'WINDOW_MS',
  'MAX_SAMPLES',
  'MAX_METRICS',
  'LOG_LEVEL',
  'AUTH_TOKEN',
  'READ_TOKEN',
  'STATE_FILE',
  'STATE_INTERVAL_MS',
  'IDLE_TTL_MS',
  'NODE_OPTIONS',
  'STATSD_PORT',
  'STATSD_HOST',
]
const START_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 3_000
const LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/

/** pid -> ChildProcess of every child still running. */
const live = new Map()

export function childEnv(extra = {}) {
  const env = { ...process.env }
  for (const key of SERVICE_ENV) delete env[key]
  // STATSD_PORT=0: the StatsD listeners run as with `npm start`, on free ports rather than a fixed 8125.
  return { ...env, HOST: '127.0.0.1', PORT: '0', STATSD_PORT: '0', ...extra }
}

/** Registers a child so that it is killed by PID if the bench process ends first. */
export function track(child) {
  live.set(child.pid, child)
  child.once('exit', () => live.delete(child.pid))
  return child
}

/** SIGKILLs every tracked child by PID (synchronous, safe in an 'exit' handler). */
export function killAll() {
  for (const [pid] of live) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  live.clear()
}

let cleanupInstalled = false
export function installCleanup() {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\n[bench] ${signal}: stopping children ${[...live.keys()].join(', ') || '(none)'}\n`)
      killAll()
      process.exit(130)
    })
  }
}

/**
 * Starts `node [nodeArgs] script` with HOST=127.0.0.1 PORT=0 and resolves once its
 * output names the port ("listening on http://127.0.0.1:PORT").
 */
export async function startServer(kind, script, env = {}, nodeArgs = []) {
  const child = track(spawn(process.execPath, [...nodeArgs, script], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }))
  let output = ''
  const keep = (chunk) => {
    output += chunk
    if (output.length > 64 * 1024) output = output.slice(-32 * 1024)
  }
  child.stdout.setEncoding('utf8').on('data', keep)
  child.stderr.setEncoding('utf8').on('data', keep)
  let exitCode
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal
      resolve(exitCode)
    }),
  )
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`${kind} did not start within ${START_TIMEOUT_MS} ms:\n${output}`))
    }, START_TIMEOUT_MS)
    const check = () => {
      const m = LISTENING.exec(output)
      if (m) {
        cleanup()
        resolve(Number(m[1]))
      }
    }
    const onExit = () => {
      cleanup()
      reject(new Error(`${kind} exited (${exitCode}) before listening:\n${output}`))
    }
    function cleanup() {
      clearTimeout(timer)
      child.stdout.off('data', check)
      child.off('exit', onExit)
    }
    child.stdout.on('data', check)
    child.once('exit', onExit)
    check()
  }).catch((err) => {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {}
    throw err
  })
  return {
    kind,
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    get running() {
      return exitCode === undefined
    },
    /** Resident set size from /proc/<pid>/status (VmRSS), in bytes. */
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
      return m ? Number(m[1]) * 1024 : NaN
    },
    /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. */
    async stop() {
      if (exitCode !== undefined) return exitCode
      try {
        process.kill(child.pid, 'SIGTERM')
      } catch {}
      let timer
      const grace = new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))
      await Promise.race([exited, grace])
      clearTimeout(timer)
      if (exitCode === undefined) {
        try {
          process.kill(child.pid, 'SIGKILL')
        } catch {}
        await exited
      }
      return exitCode
    },
  }
}

/**
 * The built service, as `npm start` runs it. LOG_LEVEL=info: the port is in an info line.
 * BENCH_SERVICE_NODE_ARGS adds node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
export function startService(env = {}) {
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
  return startServer('service', SERVICE_MAIN, { LOG_LEVEL: 'info', ...env }, nodeArgs)
}

export function startBaseline(env = {}) {
  return startServer('baseline', BASELINE_MAIN, env)
}

/**
 * Runs `node [nodeArgs] script ...args` to completion and returns the JSON printed on
 * the last stdout line. stderr lines are forwarded through onLine (progress).
 */
export async function runJsonChild(script, args, { nodeArgs = [], timeoutMs = 180_000, onLine } = {}) {
  const child = track(spawn(process.execPath, [...nodeArgs, script, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] }))
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  let pending = ''
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
    if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024)
    pending += d
    let nl
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      if (onLine) onLine(line)
    }
  })
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {}
  }, timeoutMs)
  const [code, signal] = await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${script} ${args.join(' ')} failed (${code ?? signal}):\n${stderr}`)
  const lines = stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1])
}
