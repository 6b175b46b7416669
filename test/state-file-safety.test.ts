import { execFileSync } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MetricStore } from '../src/store/metric-store.js'
import { decodeState } from '../src/store/state-file.js'
import { FinalSaveError, StatePersistence } from '../src/store/state-persistence.js'
import { logLines, runToExit, type ServerProcess, spawnServer } from './spawn-server.js'
import { waitFor } from './wait-for.js'
import { recordingLog } from './recording-log.js'

// STATE_FILE under hostile or broken conditions, against the built service
// (dist/main.js) on 127.0.0.1: the service never moves, renames or overwrites
// anything but a regular file, refuses to start when its state could never be
// saved, and says so while saves fail. Waits are bounded polls, never timings.

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lt-state-safety-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const ENV = { STATSD_PORT: 'off', LOG_LEVEL: 'info' }

/** Every path under `root` with its kind and, for files, contents: to show that nothing was touched. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(root)).sort()) {
    const path = join(root, name)
    const info = await lstat(path)
    if (info.isSymbolicLink()) out.push(`${name} -> ${await readlink(path)}`)
    else if (info.isDirectory()) out.push(`${name}/`, ...(await tree(path)).map((p) => `${name}/${p}`))
    else if (info.isFile()) out.push(`${name}: ${await readFile(path, 'utf8')}`)
    else out.push(`${name} (special)`)
  }
  return out
}

async function expectRefused(stateFile: string, says: RegExp) {
  const result = await runToExit({ ...ENV, STATE_FILE: stateFile })
  expect(result.timedOut).toBe(false)
  expect(result.code, result.stdout + result.stderr).toBe(2)
  const lines = result.stderr.trim().split('\n')
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^latency-tracker: cannot start: STATE_FILE /)
  expect(lines[0]).toMatch(says)
  expect(result.stdout).not.toContain('listening on')
}

describe('a STATE_FILE that is not a regular file stops the start, and nothing is moved', () => {
  it('a directory, with its contents', async () => {
    const target = join(dir, 'state')
    await mkdir(target)
    await writeFile(join(target, 'f'), 'keep')
    const before = await tree(dir)
    await expectRefused(target, /is a directory/)
    expect(await tree(dir)).toEqual(before)
  })

  it('a symbolic link to a directory', async () => {
    await mkdir(join(dir, 'real'))
    await writeFile(join(dir, 'real', 'f'), 'keep')
    await symlink(join(dir, 'real'), join(dir, 'link'))
    const before = await tree(dir)
    await expectRefused(join(dir, 'link'), /symbolic link to .*real\) is a directory/)
    expect(await tree(dir)).toEqual(before)
  })

  it('a FIFO', async (context) => {
    const fifo = join(dir, 'fifo')
    try {
      execFileSync('mkfifo', [fifo])
    } catch (err) {
      console.warn(`skipped: mkfifo is not available here (${(err as Error).message})`)
      context.skip()
    }
    await expectRefused(fifo, /is a FIFO/)
    expect((await lstat(fifo)).isFIFO()).toBe(true)
    expect(await readdir(dir)).toEqual(['fifo'])
  })

  it('a device', async (context) => {
    // A device node of the test's own (the null device's numbers) in its folder: never a
    // system device, which a service with this bug would move away.
    const device = join(dir, 'device')
    try {
      execFileSync('mknod', [device, 'c', '1', '3'])
    } catch (err) {
      console.warn(`skipped: cannot create a device node here (needs root and mknod: ${(err as Error).message})`)
      context.skip()
    }
    await expectRefused(device, /is a device/)
    expect((await lstat(device)).isCharacterDevice()).toBe(true)
    expect(await readdir(dir)).toEqual(['device'])
  })
})

describe('a STATE_FILE that could never be written stops the start', () => {
  it('its folder does not exist', async () => {
    await expectRefused(join(dir, 'missing', 's.bin'), /folder .*missing does not exist/)
    expect(await readdir(dir)).toEqual([])
  })

  it('its folder is not writable', async (context) => {
    // root writes through permission bits; /sys takes no new files, even from root.
    const folder = process.getuid?.() === 0 ? '/sys' : join(dir, 'read-only')
    if (folder !== '/sys') execFileSync('chmod', ['0555', (await mkdir(folder), folder)])
    try {
      await writeFile(join(folder, 'probe'), '')
      await rm(join(folder, 'probe'))
      console.warn(`skipped: ${folder} takes new files here, so it cannot stand for an unwritable folder`)
      context.skip()
    } catch {
      // as wanted: the folder refuses new files
    }
    await expectRefused(join(folder, 's.bin'), /not writable/)
  })
})

describe('a symbolic link to a regular file', () => {
  it('is followed: saves land on its target and the link stays', async () => {
    const target = join(dir, 'real.bin')
    const link = join(dir, 'link.bin')
    await symlink(target, link) // dangling until the first save
    const server = await spawnServer({ ...ENV, STATE_FILE: link })
    await postLatency(server, 'x', 7)
    expect(await server.stop()).toBe(0)
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readlink(link)).toBe(target)
    expect(decode(await readFile(target)).get('x')?.total).toBe(1)
    // And a restart reads it back through the link.
    const again = await spawnServer({ ...ENV, STATE_FILE: link })
    expect((await getJson(`${again.url}/metrics/x`)).total).toBe(1)
    expect(await again.stop()).toBe(0)
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
  })
})

describe('saves that fail while running', () => {
  let server: ServerProcess | undefined
  afterEach(async () => {
    if (server?.child.exitCode === null) await server.stop('SIGKILL')
    server = undefined
  })

  it('keep the service serving, are counted and shown, logged once per 100, and a failed final save exits non-zero', async () => {
    const folder = join(dir, 'state')
    await mkdir(folder)
    const s = (server = await spawnServer({ ...ENV, STATE_FILE: join(folder, 's.bin'), STATE_INTERVAL_MS: '100' }))
    await postLatency(s, 'x', 5)
    const service = async () => (await getJson(`${s.url}/metrics`)).service
    await waitFor('a first good save', async () => (await service()).state_saved_at !== null)
    expect(await service()).toMatchObject({ state_save_failures: 0 })
    expect(await getJson(`${s.url}/healthz`)).toEqual({ status: 'ok' })

    // The folder goes away: every save fails from now on.
    await rm(folder, { recursive: true })
    await waitFor('three failed saves', async () => (await service()).state_save_failures >= 3)
    const failing = await service()
    expect(new Date(failing.state_saved_at).getTime()).toBeGreaterThan(0)
    expect(await getJson(`${s.url}/healthz`)).toEqual({ status: 'ok', state: 'failing' })
    await postLatency(s, 'x', 6) // still serving
    const prom = await (await fetch(`${s.url}/metrics?format=prometheus`)).text()
    const failuresTotal = Number(/^latency_tracker_state_save_failures_total (\d+)$/m.exec(prom)?.[1])
    expect(failuresTotal).toBeGreaterThanOrEqual(failing.state_save_failures)
    expect(Number(/^latency_tracker_state_last_save_timestamp_seconds (\S+)$/m.exec(prom)?.[1]) * 1000).toBe(new Date(failing.state_saved_at).getTime())
    const errors = () => logLines(s.output()).filter((l) => l.level >= 50)
    expect(failuresTotal).toBeLessThan(101) // so only the first failure is logged yet
    expect(errors(), s.output()).toHaveLength(1)
    expect(errors()[0].msg).toMatch(/saving state failed/)

    // It comes back: saves succeed again, /healthz says so, the count stays.
    await mkdir(folder)
    await waitFor('a good save again', async () => (await getJson(`${s.url}/healthz`)).state === undefined)
    const recovered = await service()
    expect(recovered.state_save_failures).toBeGreaterThanOrEqual(failuresTotal)
    expect(new Date(recovered.state_saved_at).getTime()).toBeGreaterThan(new Date(failing.state_saved_at).getTime())
    expect(decode(await readFile(join(folder, 's.bin'))).get('x')?.total).toBe(2)

    // Gone again at shutdown: the final save fails, and the exit code says so.
    await rm(folder, { recursive: true })
    const code = await s.stop()
    await s.closed()
    expect(code, s.output()).not.toBe(0)
    expect(code).not.toBeNull()
    expect(
      logLines(s.output()).some((l) => l.level >= 50 && /final save/.test(l.msg)),
      s.output(),
    ).toBe(true)
  })
})

describe('StatePersistence while saves fail', () => {
  it('logs the first failure in a row and every 100th after, counts them all, and a failed final save throws', async () => {
    const folder = join(dir, 'gone')
    const store = new MetricStore({ maxMetrics: 10, maxSamples: 10, windowMs: 60_000 })
    const log = recordingLog()
    let wall = 1_700_000_000_000
    const p = new StatePersistence(store, join(folder, 's.bin'), 3_600_000, log, () => wall)
    const errors = () => log.lines.filter((l) => l.level === 'error')

    for (let i = 0; i < 250; i++) await p.save()
    expect(p.status).toMatchObject({ failures: 250, failuresInARow: 250, savedAtMs: undefined, failing: true })
    expect(errors().map((l) => l.obj.failuresInARow)).toEqual([1, 101, 201])

    // A good save ends the run of failures; the total stays.
    await mkdir(folder)
    wall += 1_000
    await p.save()
    expect(p.status).toMatchObject({ failures: 250, failuresInARow: 0, savedAtMs: wall, failing: false })
    expect(log.lines.at(-1)).toMatchObject({ level: 'info', msg: 'saving state works again' })

    // The next run of failures is logged from its first again.
    await rm(folder, { recursive: true })
    await p.save()
    expect(errors().map((l) => l.obj.failuresInARow)).toEqual([1, 101, 201, 1])
    await expect(p.stop()).rejects.toBeInstanceOf(FinalSaveError)
    expect(p.status.failures).toBe(252)
  })
})

async function postLatency(server: ServerProcess, id: string, latency_ns: number) {
  const res = await fetch(`${server.url}/metrics/${id}/latency`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ latency_ns }),
  })
  expect(res.status, await res.text()).toBe(202)
}

async function getJson(url: string): Promise<any> {
  const res = await fetch(url)
  const text = await res.text()
  expect(res.status, text).toBe(200)
  return JSON.parse(text)
}

function decode(data: Buffer): MetricStore {
  const store = new MetricStore({ maxMetrics: 100, maxSamples: 100, windowMs: 60_000 })
  decodeState(store, data, Date.now())
  return store
}
