import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'

/** The built entry point (npm test builds first, through pretest). */
export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  /** http://127.0.0.1:PORT */
  url: string
  port: number
  /** Everything written to stdout and stderr so far. */
  output(): string
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** Resolves once the process has exited and all of its output has been read. */
  closed(): Promise<void>
}

/** Loopback, a free HTTP port, and StatsD off unless a test sets STATSD_PORT (its default 8125 is one port for every test file). */
const BASE_ENV = { HOST: '127.0.0.1', PORT: '0', STATSD_PORT: 'off' }

const running = new Set<ChildProcess>()
afterEach(() => {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
})

/**
 * Starts `node dist/main.js` on 127.0.0.1 with PORT=0 and resolves once the
 * startup log names the port. The process is killed by PID after the test if
 * it is still running.
 */
export async function spawnServer(env: Record<string, string> = {}, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
  const exited = once(child, 'exit').then(([code]) => {
    running.delete(child)
    return code as number | null
  })
  const closed = once(child, 'close').then(
    () => undefined,
    () => undefined,
  )
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 10 s:\n${output}`)), 10_000)
    const check = () => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening:\n${output}`))
    })
  })
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal)
      return exited
    },
    closed: () => closed,
  }
}

export interface ExitResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** True when the process had to be killed after timeoutMs. */
  timedOut: boolean
}

/**
 * Runs `node dist/main.js` (on 127.0.0.1 with PORT=0 unless env says otherwise)
 * to completion and captures its output: for runs that must exit by themselves,
 * such as --help or an invalid configuration. A process still running after
 * timeoutMs is killed (timedOut: true), so a server that starts listening
 * instead of exiting fails the test rather than hanging it.
 */
export async function runToExit(env: Record<string, string> = {}, args: string[] = [], timeoutMs = 10_000): Promise<ExitResult> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, timeoutMs)
  try {
    // 'close' comes after 'exit' and after both pipes have ended: the output is complete.
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
    return { code, signal, stdout, stderr, timedOut }
  } finally {
    clearTimeout(timer)
    running.delete(child)
  }
}

/** The JSON lines of pino's output (anything else is skipped). */
export function logLines(output: string): Record<string, any>[] {
  const lines: Record<string, any>[] = []
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      lines.push(JSON.parse(line) as Record<string, any>)
    } catch {
      // a partial line: ignored
    }
  }
  return lines
}
