// Benchmark runner: `npm run bench` (quick mode, every default scenario),
// `npm run bench -- --full`, `npm run bench -- --only s1,s3`, `npm run bench -- --only soak`.
// Prints progress on stderr, the table on stdout, and writes bench/results/<timestamp>.json.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { formatTable, makeRow } from './lib/report.mjs'
import { installCleanup, killAll } from './lib/servers.mjs'
import s1 from './s1-ingest-single.mjs'
import s1cpu from './s1-cpu-per-request.mjs'
import s2 from './s2-ingest-batch.mjs'
import s2status from './s2-status-batch.mjs'
import s3 from './s3-read-one.mjs'
import s4 from './s4-read-all.mjs'
import s5 from './s5-ingest-while-reading.mjs'
import s6 from './s6-micro.mjs'
import s7 from './s7-memory.mjs'
import s8 from './s8-series.mjs'
import s9 from './s9-statsd-udp.mjs'
import s10 from './s10-otlp.mjs'
import s11 from './s11-dashboard.mjs'
import soak from './soak.mjs'

const SCENARIOS = [s1, s1cpu, s2, s2status, s3, s4, s5, s6, s7, s8, s9, s10, s11, soak]

const NOTE =
  'This machine is shared and noisy: absolute numbers drift from run to run. Only the ratios of ' +
  'service and baseline measured side by side in this run are meaningful.'

/** Per-mode settings. `smoke` is for checking the code works: tiny sizes, not comparable to targets. */
const MODES = {
  quick: { rounds: 3, loadS: 3, readS: 2, warmupS: 1, fullReads: 3, microScale: 1 },
  full: { rounds: 5, loadS: 10, readS: 6, warmupS: 3, fullReads: 8, microScale: 3 },
  smoke: { rounds: 1, loadS: 1, readS: 1, warmupS: 0.5, fullReads: 1, microScale: 0.05 },
}

const USAGE = `Usage: npm run bench -- [options]
  --full            longer, steadier runs (5 rounds, 10 s loads)
  --only NAMES      comma-separated scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
                    (soak runs only when named)
  --smoke           tiny sizes and 1 s runs, to check the code works (results not comparable to targets)
  --rounds N        rounds per side (default 3 quick, 5 full)
  --duration SEC    seconds per load run (soak: total soak length, default 600)
  --rate N          soak only: requests/s offered (default 5000)
  --no-json         do not write bench/results/<timestamp>.json
  -h, --help
`

function parseCli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean' },
      smoke: { type: 'boolean' },
      only: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      'no-json': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  return values
}

function positive(name, raw) {
  const n = Number(raw)
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a positive number, got "${raw}"`)
  return n
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

async function main() {
  let cli
  try {
    cli = parseCli(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${err.message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (cli.help) {
    process.stdout.write(USAGE)
    return
  }
  const modeName = cli.smoke ? 'smoke' : cli.full ? 'full' : 'quick'
  const mode = { ...MODES[modeName] }
  if (cli.rounds !== undefined) mode.rounds = Math.max(1, Math.floor(positive('rounds', cli.rounds)))
  const durationOverride = cli.duration === undefined ? undefined : positive('duration', cli.duration)
  if (durationOverride !== undefined) mode.loadS = mode.readS = durationOverride

  let selected
  if (cli.only) {
    const names = cli.only
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean)
    const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n))
    if (unknown.length) {
      process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\n\n${USAGE}`)
      process.exit(2)
    }
    selected = SCENARIOS.filter((s) => names.includes(s.name))
  } else {
    selected = SCENARIOS.filter((s) => s.default !== false)
  }

  installCleanup()

  const startedAt = new Date()
  const loadAtStart = os.loadavg()
  const t0 = performance.now()
  const log = (line) => process.stderr.write(`${line}\n`)
  log(`[bench] mode ${modeName}: ${selected.map((s) => s.name).join(', ')} (${mode.rounds} rounds, ${mode.loadS} s loads)`)
  log(`[bench] ${NOTE}`)
  if (modeName === 'smoke') log('[bench] smoke mode: sizes are reduced, results are NOT comparable to the targets')

  const results = []
  for (const scenario of selected) {
    const label = scenario.name.toUpperCase()
    const started = performance.now()
    log(`[bench] ${label} ${scenario.title}`)
    const ctx = {
      ...mode,
      mode: modeName,
      smoke: modeName === 'smoke',
      duration: durationOverride,
      rate: cli.rate === undefined ? undefined : positive('rate', cli.rate),
      /** The full-size value, or the smoke one in smoke mode. */
      size: (full, smoke) => (modeName === 'smoke' ? smoke : full),
      progress: (msg) => log(`[bench] ${label} ${msg}`),
      row: (args) => makeRow({ scenario: label, smoke: modeName === 'smoke', ...args }),
      /**
       * Runs fns.service and fns.baseline alternately, mode.rounds times each,
       * swapping which goes first every round. Returns the per-round results.
       */
      async alternate(fns, describe, { rounds = mode.rounds, labels = {} } = {}) {
        const out = { service: [], baseline: [] }
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? ['service', 'baseline'] : ['baseline', 'service']
          for (const side of order) {
            const result = await fns[side](r)
            out[side].push(result)
            log(`[bench] ${label} round ${r + 1}/${rounds} ${labels[side] ?? side}: ${describe(result)}`)
          }
        }
        return out
      },
    }
    try {
      const { rows, details } = await scenario.run(ctx)
      const seconds = (performance.now() - started) / 1000
      results.push({ name: label, title: scenario.title, seconds, rows, details })
      log(`[bench] ${label} done in ${seconds.toFixed(1)} s`)
    } catch (err) {
      const seconds = (performance.now() - started) / 1000
      log(`[bench] ${label} FAILED after ${seconds.toFixed(1)} s: ${err.stack ?? err}`)
      results.push({ name: label, title: scenario.title, seconds, error: String(err.stack ?? err), rows: [] })
    }
    killAll() // nothing a scenario started outlives it
  }

  const rows = results.flatMap((r) => r.rows)
  const totalS = (performance.now() - t0) / 1000
  const out = process.stdout
  out.write(`\nlatency-tracker benchmarks, ${modeName} mode, ${startedAt.toISOString()}, ${totalS.toFixed(0)} s\n`)
  out.write(
    `node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} at start, ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} at end\n\n`,
  )
  out.write(`${formatTable(rows)}\n\n`)
  for (const r of rows) if (r.note) out.write(`note ${r.scenario} ${r.metric}: ${r.note}\n`)
  for (const r of results) if (r.error) out.write(`${r.name} FAILED: ${r.error.split('\n')[0]}\n`)
  out.write(`\n${NOTE}\n`)
  if (modeName === 'smoke') out.write('Smoke mode: sizes were reduced; the ok column is left empty.\n')

  if (!cli['no-json']) {
    const dir = fileURLToPath(new URL('./results/', import.meta.url))
    mkdirSync(dir, { recursive: true })
    const file = `${dir}${startedAt.toISOString().replace(/[:.]/g, '-')}.json`
    const json = {
      schema: 1,
      started_at: startedAt.toISOString(),
      seconds: totalS,
      mode: modeName,
      settings: mode,
      argv: process.argv.slice(2),
      commit: gitCommit(),
      machine: {
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? null,
        memory_bytes: os.totalmem(),
        loadavg_at_start: loadAtStart,
        loadavg_at_end: os.loadavg(),
      },
      note: NOTE,
      scenarios: results,
    }
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`)
    out.write(`JSON: ${file}\n`)
  }
  if (results.some((r) => r.error)) process.exitCode = 1
}

main().catch((err) => {
  process.stderr.write(`[bench] ${err.stack ?? err}\n`)
  killAll()
  process.exit(1)
})
