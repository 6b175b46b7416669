import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MetricStore } from '../src/store/metric-store.js'
import { UnusableStatePathError, decodeState, writeStateFile } from '../src/store/state-file.js'
import { StatePersistence } from '../src/store/state-persistence.js'
import { recordingLog } from './recording-log.js'

// The temporary files of the state file sit at predictable names in its folder
// (.<name>.tmp-<pid>, and -probe after it for the start's folder check). Whatever
// is already at such a name (a symbolic link planted there above all) is never
// written through, followed or replaced: the save, or the start, fails instead.
// A regular file at the save's own name (one a failed save could not remove) does
// not block later saves: the next save removes it.

/** Makes rm() of one path fail once with EROFS, as on a file system remounted read-only during a save. */
const failRm = vi.hoisted(() => ({ path: undefined as string | undefined }))
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>()
  const rm: typeof fs.rm = async (path, options) => {
    if (path === failRm.path) {
      failRm.path = undefined
      throw Object.assign(new Error(`EROFS: read-only file system, unlink '${String(path)}'`), { code: 'EROFS' })
    }
    return fs.rm(path, options)
  }
  return { ...fs, rm }
})

const WALL = 1_700_000_000_000

let dir: string
let file: string
let tmp: string
let probe: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lt-state-temp-'))
  file = join(dir, 'state.bin')
  tmp = join(dir, `.state.bin.tmp-${process.pid}`)
  probe = `${tmp}-probe`
})
afterEach(async () => {
  failRm.path = undefined
  await rm(dir, { recursive: true, force: true })
})

function makeStore() {
  return new MetricStore({ maxMetrics: 100, maxSamples: 100, windowMs: 60_000 })
}

function totalIn(data: Buffer, id: string): number | undefined {
  const store = makeStore()
  decodeState(store, data, WALL)
  return store.get(id)?.total
}

describe('a symbolic link planted at the temporary file’s name', () => {
  for (const [name, dangling] of [
    ['to a regular file', false],
    ['to nothing yet', true],
  ] as const) {
    it(`${name}: the save fails and is counted; the link, its target and the state file stay`, async () => {
      const store = makeStore()
      store.recordLatencies(store.acquire('x')!, [1])
      const log = recordingLog()
      const p = new StatePersistence(store, file, 3_600_000, log, () => WALL)
      expect(await p.load()).toBeUndefined()
      await p.save()
      const saved = await readFile(file)

      const victim = join(dir, 'victim')
      if (!dangling) await writeFile(victim, 'precious')
      await symlink(victim, tmp)
      store.recordLatencies(store.acquire('x')!, [2])
      await p.save()
      expect(p.status).toMatchObject({ failures: 1, failuresInARow: 1 })
      expect(log.lines.filter((l) => l.level === 'error')).toHaveLength(1)
      expect((log.lines.find((l) => l.level === 'error')?.obj.err as NodeJS.ErrnoException).code).toBe('EEXIST')
      expect(await readlink(tmp)).toBe(victim)
      if (dangling) await expect(lstat(victim)).rejects.toMatchObject({ code: 'ENOENT' })
      else expect(await readFile(victim, 'utf8')).toBe('precious')
      expect((await lstat(file)).isFile()).toBe(true)
      expect((await readFile(file)).equals(saved)).toBe(true)

      // Once it is gone, saves work again.
      await rm(tmp)
      await p.save()
      expect(p.status).toMatchObject({ failures: 1, failuresInARow: 0 })
      expect(totalIn(await readFile(file), 'x')).toBe(2)
    })
  }

  it('writeStateFile rejects with EEXIST and writes nothing', async () => {
    await writeFile(join(dir, 'victim'), 'precious')
    await symlink(join(dir, 'victim'), tmp)
    await expect(writeStateFile(file, Buffer.from('LTSTATE2'))).rejects.toMatchObject({ code: 'EEXIST' })
    expect((await readdir(dir)).sort()).toEqual([`.state.bin.tmp-${process.pid}`, 'victim'])
    expect(await readFile(join(dir, 'victim'), 'utf8')).toBe('precious')
  })

  it('at the folder check’s name: the start stops with UnusableStatePathError; the link and its target stay', async () => {
    await writeFile(join(dir, 'victim'), 'precious')
    await symlink(join(dir, 'victim'), probe)
    const load = new StatePersistence(makeStore(), file, 3_600_000, recordingLog(), () => WALL).load()
    await expect(load).rejects.toThrow(UnusableStatePathError)
    await expect(load).rejects.toThrow(`${file}: ${probe} already exists and is not a file of this service: move it away`)
    expect(await readlink(probe)).toBe(join(dir, 'victim'))
    expect(await readFile(join(dir, 'victim'), 'utf8')).toBe('precious')
  })
})

describe('a temporary file a failed save could not remove', () => {
  /** A save that fails after creating its temporary file (its rename onto a folder), and whose removal of it fails too. */
  async function failedSaveLeavingTemp() {
    await mkdir(file)
    await writeFile(join(file, 'inside'), '')
    failRm.path = tmp
    await expect(writeStateFile(file, Buffer.from('first'))).rejects.toThrow()
    expect(failRm.path).toBeUndefined() // the removal was tried, and failed
    expect((await lstat(tmp)).isFile()).toBe(true)
    await rm(file, { recursive: true })
  }

  it('is removed by the next save, which succeeds', async () => {
    await failedSaveLeavingTemp()
    await writeStateFile(file, Buffer.from('second'))
    expect(await readdir(dir)).toEqual(['state.bin'])
    expect(await readFile(file, 'utf8')).toBe('second')
    // And the one after.
    await writeStateFile(file, Buffer.from('third'))
    expect(await readFile(file, 'utf8')).toBe('third')
  })

  it('a symbolic link put at its name instead is not removed: the save fails, and the link and its target stay', async () => {
    await failedSaveLeavingTemp()
    await rm(tmp)
    await writeFile(join(dir, 'victim'), 'precious')
    await symlink(join(dir, 'victim'), tmp)
    await expect(writeStateFile(file, Buffer.from('second'))).rejects.toMatchObject({ code: 'EEXIST' })
    expect(await readlink(tmp)).toBe(join(dir, 'victim'))
    expect(await readFile(join(dir, 'victim'), 'utf8')).toBe('precious')
  })
})
