import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * The real Prometheus tools (Debian's `prometheus` package: the server and
 * promtool; .ci/run installs it). Tests that need them skip with a printed
 * reason when a binary is missing, never silently.
 */
export function hasBinary(name: string): boolean {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  return r.error === undefined && r.status === 0
}

/** Prints why the tests of this file are skipped; returns true when they are. */
export function skipWithout(names: readonly string[], what: string): boolean {
  const missing = names.filter((n) => !hasBinary(n))
  if (missing.length === 0) return false
  console.warn(
    `SKIPPED ${what}: ${missing.join(' and ')} not found on PATH. ` +
      `Install Debian's prometheus package (apt-get install prometheus), as .ci/run does, to run them.`,
  )
  return true
}

export interface PromtoolResult {
  /** 0: clean, 1: parse error, 3: lint problems. */
  status: number | null
  /** One entry per problem or error line promtool printed. */
  problems: string[]
}

/** `promtool check metrics` with the exposition on stdin. */
export function promtoolCheckMetrics(exposition: string): PromtoolResult {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 30_000 })
  if (r.error !== undefined) throw r.error
  const problems = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
  return { status: r.status, problems }
}

/** A port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  server.close()
  await once(server, 'close')
  return address.port
}

export interface ScrapeJob {
  name: string
  targets: string[]
  /** Query parameters added to every scrape, e.g. { format: ['prometheus'] }. */
  params?: Record<string, string[]>
}

export interface PrometheusServer {
  url: string
  /** Instant query; the result vector. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>
  /** Raw GET of an API path, parsed. */
  api<T>(path: string): Promise<T>
  output(): string
  stop(): Promise<void>
}

/**
 * Starts `prometheus` on 127.0.0.1 (a free port, storage in a temporary
 * folder, scraping every second) and resolves once it answers /-/ready.
 * stop() sends SIGTERM to its PID, waits for the exit and removes the folder.
 */
export async function startPrometheus(jobs: readonly ScrapeJob[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'latency-tracker-prometheus-'))
  const port = await freePort()
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    ...jobs.flatMap((job) => [
      `  - job_name: ${JSON.stringify(job.name)}`,
      ...(job.params === undefined ? [] : [`    params: ${JSON.stringify(job.params)}`]),
      '    static_configs:',
      `      - targets: ${JSON.stringify(job.targets)}`,
    ]),
    '',
  ].join('\n')
  writeFileSync(join(dir, 'prometheus.yml'), config)
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d))
  const exited = once(child, 'exit')
  let running = true
  void exited.then(() => (running = false))
  const url = `http://127.0.0.1:${port}`

  const stop = async () => {
    if (running) {
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    await waitFor(
      async () =>
        running &&
        (await fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        )),
      15_000,
      () => `Prometheus did not become ready:\n${output}`,
    )
  } catch (err) {
    await stop()
    throw err
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`)
    const body = (await res.json()) as { status: string; data: T; error?: string }
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`)
    return body.data
  }
  return {
    url,
    api,
    async query(promql: string) {
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent(promql)}`,
      )
      return data.result
    },
    output: () => output,
    stop,
  }
}

/** Polls check every 100 ms until it is true; throws message() after timeoutMs. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(message())
    await new Promise((r) => setTimeout(r, 100))
  }
}
