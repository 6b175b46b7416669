import { copyFile, mkdtemp, readdir, readFile, readlink, rm, symlink, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../src/config.js'
import { startService } from '../src/service.js'
import { MetricStore } from '../src/store/metric-store.js'
import { UnusableStatePathError, encodeState } from '../src/store/state-file.js'
import { StatePersistence } from '../src/store/state-persistence.js'
import { testConfig } from './helper.js'
import { recordingLog } from './recording-log.js'

// A regular file at STATE_FILE that the service did not write (it does not begin
// with the magic every version of the state file begins with, LTSTATE) stops the
// start and is left as it is: the service moves, renames or overwrites nothing
// but a regular file it wrote itself. A file that begins with the magic but is
// damaged is the service's own: it is moved aside and the service starts empty.

/** Makes open() of one path fail once with EACCES, as for a file of another user when not root. */
const refuseOpen = vi.hoisted(() => ({ path: undefined as string | undefined }))
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>()
  const open: typeof fs.open = async (path, ...rest) => {
    if (path === refuseOpen.path) {
      refuseOpen.path = undefined
      throw Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES' })
    }
    return fs.open(path, ...rest)
  }
  return { ...fs, open }
})

const WALL = 1_700_000_000_000

let dir: string
let file: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lt-state-foreign-'))
  file = join(dir, 'state.bin')
})
afterEach(async () => {
  refuseOpen.path = undefined
  await rm(dir, { recursive: true, force: true })
})

function makeStore() {
  return new MetricStore({ maxMetrics: 100, maxSamples: 100, windowMs: 60_000 })
}

function persistence(store: MetricStore, log = recordingLog(), path = file) {
  return new StatePersistence(store, path, 3_600_000, log, () => WALL)
}

const notOurs = (path: string) =>
  `${path} is not a latency-tracker state file (it does not begin with LTSTATE): it was left as it is; move it away or choose another path`

// An empty file, a text file and random bytes: in test/state-file.test.ts.
const foreign: Array<[string, () => Buffer]> = [
  ['the magic without its first byte', () => Buffer.from('TSTATE2\0\0\0\0')],
  ['a file shorter than the magic, that begins as it does', () => Buffer.from('LTSTAT')],
  ['another program’s JSON', () => Buffer.from('{"LTSTATE2":1}')],
]

describe('a regular file that is not a state file stops the start and is left as it is', () => {
  for (const [name, make] of foreign) {
    it(name, async () => {
      const bytes = make()
      await writeFile(file, bytes)
      const store = makeStore()
      const log = recordingLog()
      const load = persistence(store, log).load()
      await expect(load).rejects.toThrow(UnusableStatePathError)
      await expect(load).rejects.toThrow(notOurs(file))
      expect(await readdir(dir)).toEqual(['state.bin'])
      expect((await readFile(file)).equals(bytes)).toBe(true)
      expect(store.size).toBe(0)
      expect(log.lines.filter((l) => l.level === 'error')).toEqual([])
    })
  }

  it('a large file of another program is refused from its first bytes, not read whole', async () => {
    // 3 GiB, sparse: more than readFile takes (2 GiB), so reading it all would fail, and be moved aside.
    await writeFile(file, 'SQLite format 3\0')
    await truncate(file, 3 * 2 ** 30)
    await expect(persistence(makeStore()).load()).rejects.toThrow(notOurs(file))
    expect(await readdir(dir)).toEqual(['state.bin'])
  })

  it('the target of a symbolic link: the link and its target stay', async () => {
    const target = join(dir, 'notes.txt')
    await writeFile(target, 'keep me')
    await symlink(target, file)
    await expect(persistence(makeStore()).load()).rejects.toThrow(notOurs(target))
    expect((await readdir(dir)).sort()).toEqual(['notes.txt', 'state.bin'])
    expect(await readlink(file)).toBe(target)
    expect(await readFile(target, 'utf8')).toBe('keep me')
  })

  it('a file whose first bytes cannot be read (EACCES) is not known to be ours: left as it is', async () => {
    const bytes = await encodeState(makeStore(), WALL)
    await writeFile(file, bytes)
    refuseOpen.path = file
    const load = persistence(makeStore()).load()
    await expect(load).rejects.toThrow(UnusableStatePathError)
    await expect(load).rejects.toThrow(`${file} cannot be read (EACCES: permission denied, open '${file}'): it was left as it is`)
    expect(await readdir(dir)).toEqual(['state.bin'])
    expect((await readFile(file)).equals(bytes)).toBe(true)
  })

  it('the whole service: startService rejects with a ConfigError naming STATE_FILE, and the file stays', async () => {
    await writeFile(file, 'my notes\n')
    // A service that starts anyway is stopped again, so that it holds nothing up.
    const outcome = await startService(testConfig({ stateFile: file })).then(
      async (service) => {
        await service.stop()
        return 'started'
      },
      (err: unknown) => err,
    )
    expect(outcome).toBeInstanceOf(ConfigError)
    expect((outcome as Error).message).toBe(`STATE_FILE ${notOurs(file)}`)
    expect(await readdir(dir)).toEqual(['state.bin'])
    expect(await readFile(file, 'utf8')).toBe('my notes\n')
  })
})

describe('a file that begins with the magic is the service’s own', () => {
  const damaged: Array<[string, () => Promise<Buffer>]> = [
    ['the magic alone, without a version', async () => Buffer.from('LTSTATE')],
    ['the magic of this version alone', async () => Buffer.from('LTSTATE2')],
    ['a version byte that no release writes', async () => Buffer.from('LTSTATE? and more')],
    ['a state file cut short', async () => (await encodeState(makeStore(), WALL)).subarray(0, -1)],
  ]
  for (const [name, make] of damaged) {
    it(`${name}: moved aside, and the service starts empty`, async () => {
      const bytes = await make()
      await writeFile(file, bytes)
      const store = makeStore()
      expect(await persistence(store).load()).toBeUndefined()
      const aside = 'state.bin.corrupt-2023-11-14T22-13-20-000Z'
      expect(await readdir(dir)).toEqual([aside])
      expect((await readFile(join(dir, aside))).equals(bytes)).toBe(true)
    })
  }

  it('a file of a later release (a downgrade) is left as it is, and the start stops', async () => {
    await writeFile(file, 'LTSTATE3 from a later release')
    const load = persistence(makeStore()).load()
    await expect(load).rejects.toThrow(UnusableStatePathError)
    await expect(load).rejects.toThrow(`${file} was written by a newer release of latency-tracker (LTSTATE3; this one reads LTSTATE1 and LTSTATE2)`)
    expect(await readdir(dir)).toEqual(['state.bin'])
    expect(await readFile(file, 'utf8')).toBe('LTSTATE3 from a later release')
  })

  it('a file of the release before statuses (test/fixtures/state-v1.bin) loads through load()', async () => {
    await copyFile(new URL('./fixtures/state-v1.bin', import.meta.url), file)
    const store = makeStore()
    const summary = await persistence(store).load()
    expect(summary?.metrics).toBeGreaterThan(0)
    expect(store.size).toBe(summary?.metrics)
    expect(await readdir(dir)).toEqual(['state.bin'])
  })

  it('a whole service starts from a file it saved itself', async () => {
    const saved = makeStore()
    saved.recordLatencies(saved.acquire('kept')!, [5, 6])
    await writeFile(file, await encodeState(saved, Date.now()))
    const service = await startService(testConfig({ stateFile: file }))
    try {
      expect(service.store.get('kept')?.total).toBe(2)
    } finally {
      await service.stop()
    }
  })
})
