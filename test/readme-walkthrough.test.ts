import { execFile, execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { build, postJson } from './helper.js'
import { manualClock } from './reference.js'

// The README's examples are what the service prints: the walk-through's
// commands run with curl against a service started on a free 127.0.0.1 port,
// each output the README shows compared with the real one; the GET /metrics/:id
// example compared with a snapshot of the data it describes.

const README = new URL('../README.md', import.meta.url)

/** The text of the first ```lang block after the heading. */
function blockAfter(readme: string, heading: string, lang: string): string {
  const from = readme.indexOf(`\n${heading}\n`)
  expect(from, heading).toBeGreaterThan(0)
  const start = readme.indexOf(`\`\`\`${lang}\n`, from) + lang.length + 4
  return readme.slice(start, readme.indexOf('\n```', start))
}

interface Step {
  command: string
  /** The output the README shows right under the command, if any. */
  expected?: string
}

/**
 * Commands (continued by a trailing backslash), each followed directly by the
 * `# ` lines of its output; a comment after a blank line describes what follows.
 */
function steps(block: string): Step[] {
  const out: Step[] = []
  const lines = block.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '' || lines[i].startsWith('#')) continue
    let command = lines[i]
    while (command.endsWith('\\')) command = `${command.slice(0, -1)}${lines[++i]}`
    const shown: string[] = []
    while (i + 1 < lines.length && lines[i + 1].startsWith('#')) shown.push(lines[++i].replace(/^#\s*/, ''))
    out.push({ command, ...(shown.length > 0 ? { expected: shown.join('') } : {}) })
  }
  return out
}

function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const run = promisify(execFile)
const curl = hasCurl()
if (!curl) console.warn('skipped: the README walk-through needs curl, which is not installed here')

describe('README', () => {
  it.skipIf(!curl)('walk-through: every command prints what the README shows', async () => {
    const app = await build({ maxEventLoopDelayMs: 0 })
    const { port } = app.server.address() as { port: number }
    const walk = steps(blockAfter(await readFile(README, 'utf8'), '## Walk-through', 'sh'))
    expect(walk.filter((s) => s.expected !== undefined).length).toBeGreaterThanOrEqual(6)
    for (const { command, expected } of walk) {
      expect(command).toMatch(/^curl /)
      // Not execFileSync: the service runs on this event loop.
      const { stdout: output } = await run('sh', ['-c', command.replaceAll('localhost:8080', `127.0.0.1:${port}`)], { timeout: 10_000 })
      if (expected === undefined) continue
      if (/^[[{]/.test(expected)) expect(JSON.parse(output), command).toEqual(JSON.parse(expected))
      else expect(output.trim(), command).toBe(expected)
    }
  })

  it('the GET /metrics/:id example is what the service answers for the data it describes', async () => {
    const example = JSON.parse(blockAfter(await readFile(README, 'utf8'), '### GET /metrics/:id', 'json'))
    const clock = manualClock(1_000)
    const app = await build({ maxEventLoopDelayMs: 0, now: clock.now })
    // `total` samples, of which `count` are still in the window: min, p50 and max.
    const inWindow = [example.min_ns, example.p50_ns, example.max_ns]
    expect(inWindow).toHaveLength(example.count)
    await post(
      app,
      example.id,
      Array.from({ length: example.total - example.count }, (_, i) => 500 + i),
    )
    clock.advance(example.window_ms)
    await post(app, example.id, inWindow)
    for (const event of ['created', 'started', 'completed', 'failed', 'retried']) {
      const count = example.jobs[event]
      if (count > 0) expect((await postJson(app, `/metrics/${example.id}/jobs`, { event, count })).statusCode).toBe(202)
    }
    const res = await app.inject({ url: `/metrics/${example.id}` })
    expect(res.json()).toEqual(example)
  })
})

async function post(app: FastifyInstance, id: string, values: number[]) {
  const res = await postJson(app, `/metrics/${id}/latency`, { latency_ns: values })
  expect(res.statusCode, res.body).toBe(202)
}
