// S9: StatsD over UDP. A sender in a second process offers datagrams of 20 timer lines
// at rising rates, for a few seconds per rate, to the service's StatsD port and, at the
// same rates in the same run, to the reference daemon (npm `statsd` 0.9.0, the
// statsd/statsd daemon: UDP server, timers kept in memory until a flush that does not
// come during the run, no backend at all, so no console output). After each step the
// receiver's count is read once it has settled: the service's service.statsd.samples
// (GET /metrics), the daemon's `statsd.metrics_received` (its management port,
// `counters`). A step is lossless when every line sent was recorded.
// Metric: the highest rate without loss, in lines/s, per sweep; the ratio of medians.
// A daemon leaves the sweep after two lossy steps in a row; the sweep ends when both
// have, or when the sender twice in a row cannot offer the rate (a daemon that lost
// nothing at its last step then has a lower bound for a result).
// Running this file with --child '<json>' is the sender: it prints what it sent as JSON.
import dgram from 'node:dgram'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { getJson } from './lib/http.mjs'
import { childEnv, runJsonChild, startService, track } from './lib/servers.mjs'

const SELF = fileURLToPath(import.meta.url)
const REFERENCE_MAIN = fileURLToPath(new URL('../node_modules/statsd/stats.js', import.meta.url))
const LINES_PER_DATAGRAM = 20
const IDS = 100
/** The first rate offered, and the factor between steps. */
const START_LINES_PER_S = 10_000
const STEP_FACTOR = 1.25
const MAX_STEPS = 32
/** A daemon leaves the sweep after this many lossy steps in a row. */
const LOSSY_STEPS_TO_STOP = 2
/** The sender is at its limit when it needs this much longer than asked to send a step's datagrams. */
const SENDER_SLACK = 1.1
/** The sweep ends after this many steps in a row at the sender's limit. */
const LIMITED_STEPS_TO_STOP = 2
const SETTLE_TIMEOUT_MS = 5_000

export default {
  name: 's9',
  title: 'StatsD over UDP: highest rate of 20-line datagrams recorded without loss, beside the reference daemon',
  async run(ctx) {
    const stepS = ctx.duration ?? (ctx.smoke ? 0.3 : ctx.mode === 'full' ? 4 : 1.5)
    const sweeps = ctx.smoke ? 1 : ctx.mode === 'full' ? ctx.rounds : 2
    const maxSteps = ctx.smoke ? 3 : MAX_STEPS
    const service = await startService()
    const reference = await startReference()
    try {
      const receivers = {
        service: { port: statsdUdpPort(service), count: async () => (await getJson(service.url, '/metrics')).service.statsd.samples },
        reference: { port: reference.udpPort, count: () => reference.metricsReceived() },
      }
      for (const [side, r] of Object.entries(receivers)) {
        ctx.progress(`warm-up ${side}`)
        await step(r, START_LINES_PER_S, ctx.smoke ? 0.3 : 1)
      }
      const results = { service: [], reference: [] }
      for (let sweep = 0; sweep < sweeps; sweep++) {
        const s = await runSweep(ctx, receivers, stepS, maxSteps, sweep)
        results.service.push(s.service)
        results.reference.push(s.reference)
      }
      const best = (side) => results[side].map((s) => s.best_lines_per_s)
      const bounded = (side) => results[side].some((s) => s.lower_bound)
      const notes = []
      if (bounded('service')) notes.push("service lost nothing up to the sender's limit in some sweep: its figure is a lower bound")
      if (bounded('reference')) notes.push("reference daemon lost nothing up to the sender's limit in some sweep: its figure is a lower bound")
      return {
        rows: [
          ctx.row({
            metric: 'UDP, 20 timer lines/datagram, no loss',
            unit: 'lines/s',
            service: best('service'),
            baseline: best('reference'),
            baselineIs: 'statsd 0.9.0 (the reference daemon), same datagrams, same run',
            target: { on: 'ratio', op: '>=', value: 1.0, text: '>= 1.0× reference' },
            ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
          }),
        ],
        details: {
          lines_per_datagram: LINES_PER_DATAGRAM,
          ids: IDS,
          step_seconds: stepS,
          start_lines_per_s: START_LINES_PER_S,
          step_factor: STEP_FACTOR,
          sweeps: results,
        },
      }
    } finally {
      await Promise.all([service.stop(), reference.stop()])
    }
  },
}

/** One rising sweep over both receivers, alternating which goes first at each rate. */
async function runSweep(ctx, receivers, stepS, maxSteps, sweep) {
  const state = {}
  for (const side of Object.keys(receivers)) state[side] = { steps: [], lossyInARow: 0, best_lines_per_s: 0, lower_bound: false, done: false }
  let rate = START_LINES_PER_S
  let limitedInARow = 0
  for (let i = 0; i < maxSteps && Object.values(state).some((s) => !s.done); i++, rate *= STEP_FACTOR) {
    const sides = Object.keys(receivers).filter((side) => !state[side].done)
    if (i % 2 === 1) sides.reverse()
    let senderLimited = false
    for (const side of sides) {
      const r = await step(receivers[side], rate, stepS)
      const s = state[side]
      s.steps.push(r)
      ctx.progress(
        `sweep ${sweep + 1} ${side}: offered ${fmt(rate)} lines/s, sent ${fmt(r.sent_lines_per_s)}, recorded ${r.recorded}/${r.sent_lines}${r.lost > 0 ? ` (lost ${r.lost})` : ''}${r.sender_limited ? ' [sender at its limit]' : ''}`,
      )
      if (r.sender_limited) senderLimited = true
      if (r.lost === 0) {
        s.lossyInARow = 0
        s.best_lines_per_s = Math.max(s.best_lines_per_s, r.sent_lines_per_s)
      } else if (++s.lossyInARow >= LOSSY_STEPS_TO_STOP) {
        s.done = true
      }
    }
    limitedInARow = senderLimited ? limitedInARow + 1 : 0
    if (limitedInARow >= LIMITED_STEPS_TO_STOP) {
      for (const side of sides) if (state[side].lossyInARow === 0) state[side].lower_bound = true
      break
    }
  }
  return state
}

/** Offers `linesPerS` for `seconds` from a sender process; returns what was sent and what the receiver recorded. */
async function step(receiver, linesPerS, seconds) {
  const before = await receiver.count()
  const sent = await runJsonChild(SELF, ['--child', JSON.stringify({ port: receiver.port, datagramsPerS: linesPerS / LINES_PER_DATAGRAM, seconds })], {
    timeoutMs: (seconds * 4 + 30) * 1000,
  })
  const sentLines = sent.datagrams * LINES_PER_DATAGRAM
  // Settled: all lines arrived, or the count stopped moving for three polls in a row.
  let recorded = (await receiver.count()) - before
  let still = 0
  const deadline = Date.now() + SETTLE_TIMEOUT_MS
  while (recorded < sentLines && still < 3 && Date.now() < deadline) {
    await sleep(100)
    const now = (await receiver.count()) - before
    still = now === recorded ? still + 1 : 0
    recorded = now
  }
  return {
    offered_lines_per_s: linesPerS,
    sent_lines: sentLines,
    sent_lines_per_s: sentLines / sent.seconds,
    sender_limited: sent.seconds > seconds * SENDER_SLACK,
    send_errors: sent.errors,
    recorded,
    lost: Math.max(0, sentLines - recorded),
  }
}

function fmt(x) {
  return Math.round(x).toLocaleString('en-US')
}

/** The StatsD UDP port from the service's startup log. */
function statsdUdpPort(server) {
  const m = /"statsd_udp_port":(\d+)/.exec(server.output())
  if (!m) throw new Error(`no StatsD port in the service's startup log:\n${server.output()}`)
  return Number(m[1])
}

/** A free port on 127.0.0.1 for the given transport (bound, read, released). */
async function freePort(transport) {
  if (transport === 'udp') {
    const socket = dgram.createSocket('udp4')
    socket.bind(0, '127.0.0.1')
    await once(socket, 'listening')
    const { port } = socket.address()
    await new Promise((resolve) => socket.close(resolve))
    return port
  }
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * The reference daemon, with a config that keeps timers in memory (a flush an hour
 * away, none during the run), no backend (so no console output) and its management
 * port on loopback.
 */
async function startReference() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-s9-statsd-'))
  const udpPort = await freePort('udp')
  const mgmtPort = await freePort('tcp')
  const configFile = join(dir, 'config.js')
  writeFileSync(
    configFile,
    `{ address: "127.0.0.1", port: ${udpPort}, mgmt_address: "127.0.0.1", mgmt_port: ${mgmtPort}, flushInterval: 3600000, backends: [], automaticConfigReload: false }\n`,
  )
  const child = track(spawn(process.execPath, [REFERENCE_MAIN, configFile], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] }))
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d))
  const exited = once(child, 'exit')

  const command = (cmd) =>
    new Promise((resolve, reject) => {
      const socket = net.connect(mgmtPort, '127.0.0.1')
      let text = ''
      const timer = setTimeout(() => socket.destroy(new Error(`no answer to "${cmd}" within 5 s`)), 5_000)
      socket.setEncoding('utf8')
      socket.on('connect', () => socket.write(`${cmd}\n`))
      socket.on('data', (d) => {
        text += d
        if (text.includes('END\n')) {
          clearTimeout(timer)
          socket.end()
          resolve(text)
        }
      })
      socket.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  const metricsReceived = async () => {
    const m = /'statsd\.metrics_received': (\d+)/.exec(await command('counters'))
    if (!m) throw new Error("statsd.metrics_received not in the daemon's counters")
    return Number(m[1])
  }

  // Up when its management port answers and a probe datagram is counted.
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the reference daemon exited:\n${output}`)
    try {
      const before = await metricsReceived()
      const probe = dgram.createSocket('udp4')
      await new Promise((resolve) => probe.send('s9.probe:1|ms', udpPort, '127.0.0.1', resolve))
      probe.close()
      await sleep(100)
      if ((await metricsReceived()) > before) break
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the reference daemon did not start within 15 s:\n${output}`)
    await sleep(100)
  }
  return {
    udpPort,
    metricsReceived,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await Promise.race([exited, sleep(3_000)])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------- child process: the sender

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  const { port, datagramsPerS, seconds } = JSON.parse(process.argv[3])
  // Datagrams of 20 timer lines over IDS ids, values 0.001 ms to 2 s with 3 decimals, built ahead.
  const datagrams = []
  let n = 0
  for (let d = 0; d < 500; d++) {
    const lines = []
    for (let i = 0; i < LINES_PER_DATAGRAM; i++, n++) lines.push(`s9.api.endpoint_${n % IDS}:${((n * 7919) % 2_000_000) / 1000 + 0.001}|ms`)
    datagrams.push(Buffer.from(lines.join('\n')))
  }
  const socket = dgram.createSocket('udp4')
  // Connected: sends skip the address lookup a send to a host string does each time.
  socket.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const total = Math.max(1, Math.round(datagramsPerS * seconds))
  let sent = 0
  let inFlight = 0
  let errors = 0
  const onSent = (err) => {
    inFlight--
    if (err) errors++
  }
  const t0 = performance.now()
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * datagramsPerS))
      // Bounded bursts and a bounded queue, so pacing stays even and memory flat.
      for (let burst = 0; sent < due && burst < 256 && inFlight < 4096; burst++) {
        socket.send(datagrams[sent % datagrams.length], onSent)
        sent++
        inFlight++
      }
      if (sent < total) setImmediate(tick)
      else resolve()
    }
    tick()
  })
  const elapsed = (performance.now() - t0) / 1000
  while (inFlight > 0) await new Promise((resolve) => setImmediate(resolve))
  socket.close()
  process.stdout.write(`${JSON.stringify({ datagrams: sent - errors, errors, seconds: Math.max(elapsed, seconds) })}\n`)
}
