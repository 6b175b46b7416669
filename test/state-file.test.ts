import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { JOB_EVENTS, type JobEvent } from '../src/store/metric.js'
import { MetricStore, type MetricStoreOptions } from '../src/store/metric-store.js'
import type { SampleRing } from '../src/store/sample-ring.js'
import { CorruptStateError, UnusableStatePathError, decodeState, encodeState, encodeStateParts, writeStateFile } from '../src/store/state-file.js'
import { StatePersistence } from '../src/store/state-persistence.js'
import { manualClock } from './reference.js'

// Unit tests of the state file (src/store/state-file.ts) and of its use by
// StatePersistence. No processes: every clock is a manual one, and the wall-clock
// time of each save and load is given explicitly.

const WINDOW_MS = 60_000
/** 2023-11-14T22:13:20.000Z */
const WALL = 1_700_000_000_000

type Clock = ReturnType<typeof manualClock>

function makeStore(clock: Clock, options: Partial<MetricStoreOptions> = {}): MetricStore {
  return new MetricStore({ maxMetrics: 1_000, maxSamples: 1_000, windowMs: WINDOW_MS, now: clock.now, ...options })
}

/** Everything the state file is meant to carry, for one metric, with times as ages. */
function dumpMetric(store: MetricStore, id: string) {
  const m = store.get(id)!
  store.settle(m) // single samples are bucketed lazily
  const now = store.now()
  const samples: Array<[value: number, ageMs: number]> = []
  m.forEach((value, time) => samples.push([value, now - time]))
  return {
    id,
    samples,
    total: m.total,
    sumNs: m.sumNs,
    jobs: Object.fromEntries(JOB_EVENTS.map((e) => [e, m.jobCount(e)])),
    buckets: Array.from({ length: m.histogramBucketCount }, (_, i) => m.bucketCount(i)),
    idleMs: now - m.lastWriteAt,
  }
}

/** A ring's region in its pool (private fields, read to check that it was reused). */
function regionOf(ring: SampleRing) {
  const r = ring as unknown as { slots: Float64Array; base: number }
  return { array: r.slots, base: r.base }
}

function dump(store: MetricStore) {
  return store.sorted().map((m) => dumpMetric(store, m.id))
}

function snapshots(store: MetricStore, windowMs = store.windowMs) {
  return store.sorted().map((m) => store.snapshot(m, { windowMs }))
}

function job(store: MetricStore, id: string, event: JobEvent, count: number) {
  store.recordJob(store.acquire(id)!, event, count)
}

function record(store: MetricStore, id: string, values: number[]) {
  store.recordLatencies(store.acquire(id)!, values)
}

/**
 * A store whose samples have a spread of ages at save time: 'alpha' has samples
 * 50 s, 20 s, 10 s and 0 s old; '__proto__' 10 s; 'jobs-only' has counters and
 * no sample; 'idle' was last written 40 s ago.
 */
function populated(clock: Clock = manualClock(5_000)) {
  const store = makeStore(clock)
  record(store, 'alpha', [1_500, 2_500_000, 7])
  record(store, 'idle', [900_000_000])
  clock.advance(10_000) // alpha's first batch: 50 s old at save
  job(store, 'idle', 'created', 3)
  clock.advance(20_000)
  record(store, 'alpha', [40_000, 40_000, 12_345_678_901])
  clock.advance(10_000)
  record(store, 'alpha', [5])
  record(store, '__proto__', [123, 456, 789, 61_000_000_000])
  job(store, '__proto__', 'started', 2)
  job(store, '__proto__', 'completed', 1)
  clock.advance(10_000)
  record(store, 'alpha', [999, 1_000_000])
  store.recordLatency(store.acquire('alpha')!, 77)
  for (const [i, event] of JOB_EVENTS.entries()) job(store, 'jobs-only', event, 10 ** i)
  job(store, 'jobs-only', 'created', 1_000_000)
  return { store, clock }
}

describe('encodeState → decodeState', () => {
  it('restores every sample with its age, the totals, sums, job counters, buckets and idle age', async () => {
    const { store } = populated()
    const before = dump(store)
    // The sample ages that populated() promises, so the test checks something real.
    expect(before.find((m) => m.id === 'alpha')!.samples.map(([, age]) => age)).toEqual([50_000, 50_000, 50_000, 20_000, 20_000, 20_000, 10_000, 0, 0, 0])
    expect(before.find((m) => m.id === 'idle')!.idleMs).toBe(40_000)
    const data = await encodeState(store, WALL)

    // A new process: its monotonic clock starts somewhere else entirely.
    const loaded = makeStore(manualClock(123))
    const summary = decodeState(loaded, data, WALL)
    expect(summary).toEqual({ metrics: 4, samples: 15, skipped: 0 })
    expect(dump(loaded)).toEqual(before)
  })

  it('adds the downtime (wall-clock difference) to every age and drops the samples it pushes out of the window', async () => {
    const { store } = populated()
    const before = dump(store)
    const data = await encodeState(store, WALL)

    const downtime = 10_000
    const loaded = makeStore(manualClock(0))
    const summary = decodeState(loaded, data, WALL + downtime)
    // alpha's three 50 s-old samples and idle's one reach the 60 s window exactly: dropped.
    expect(summary).toEqual({ metrics: 4, samples: 11, skipped: 0 })
    const expected = before.map((m) => ({
      ...m,
      samples: m.samples.map(([v, age]) => [v, age + downtime]).filter(([, age]) => age < WINDOW_MS),
      idleMs: m.idleMs + downtime,
    }))
    expect(dump(loaded)).toEqual(expected)
    // The counters do not age: totals and buckets still count the dropped samples.
    expect(loaded.get('alpha')!.total).toBe(10)
  })

  it('keeps a sample one millisecond short of the window and drops one that reaches it', async () => {
    const clock = manualClock(0)
    const store = makeStore(clock)
    record(store, 'edge', [1])
    clock.advance(1)
    record(store, 'edge', [2])
    clock.advance(WINDOW_MS - 2) // ages: 59 999 and 59 998 ms
    const data = await encodeState(store, WALL)
    for (const [downtime, kept] of [
      [0, [1, 2]],
      [1, [2]],
      [2, []],
      [86_400_000, []],
    ] as const) {
      const loaded = makeStore(manualClock(0))
      decodeState(loaded, data, WALL + downtime)
      expect(
        dumpMetric(loaded, 'edge').samples.map(([v]) => v),
        `downtime ${downtime}`,
      ).toEqual(kept)
      expect(loaded.get('edge')!.total).toBe(2)
    }
  })

  it('a wall clock that went backwards counts as no downtime', async () => {
    const { store } = populated()
    const before = dump(store)
    const loaded = makeStore(manualClock(0))
    decodeState(loaded, await encodeState(store, WALL), WALL - 3_600_000)
    expect(dump(loaded)).toEqual(before)
  })

  it('snapshots are identical before and after when no time passes', async () => {
    const { store, clock } = populated()
    const data = await encodeState(store, WALL)
    const loaded = makeStore(manualClock(clock.now()))
    decodeState(loaded, data, WALL)
    expect(loaded.sorted().map((m) => m.id)).toEqual(store.sorted().map((m) => m.id))
    for (const windowMs of [WINDOW_MS, 30_000, 15_000, 1]) {
      expect(snapshots(loaded, windowMs), `window ${windowMs}`).toEqual(snapshots(store, windowMs))
    }
    for (const m of store.sorted()) {
      const opts = { windowMs: 25_000, quantiles: [] }
      expect(loaded.snapshot(loaded.get(m.id)!, opts)).toEqual(store.snapshot(m, opts))
    }
    // And after both have aged alike.
    clock.advance(15_000)
    const later = makeStore(manualClock(clock.now()))
    decodeState(later, data, WALL + 15_000)
    expect(snapshots(later)).toEqual(snapshots(store))
  })

  it('writes and loads again: a second round trip changes nothing', async () => {
    const { store } = populated()
    const first = makeStore(manualClock(9))
    decodeState(first, await encodeState(store, WALL), WALL)
    const second = makeStore(manualClock(99_999))
    decodeState(second, await encodeState(first, WALL + 1), WALL + 1)
    expect(dump(second)).toEqual(dump(store))
  })

  it('an empty store round-trips to an empty store', async () => {
    const store = makeStore(manualClock())
    const loaded = makeStore(manualClock())
    expect(decodeState(loaded, await encodeState(store, WALL), WALL)).toEqual({ metrics: 0, samples: 0, skipped: 0 })
    expect(loaded.size).toBe(0)
  })

  it('a full ring keeps its most recent samples, oldest first', async () => {
    const clock = manualClock()
    const store = makeStore(clock, { maxSamples: 16 })
    for (let i = 1; i <= 40; i++) {
      record(store, 'wrapped', [i])
      clock.advance(100)
    }
    const loaded = makeStore(manualClock(), { maxSamples: 16 })
    decodeState(loaded, await encodeState(store, WALL), WALL)
    expect(dumpMetric(loaded, 'wrapped')).toEqual(dumpMetric(store, 'wrapped'))
    expect(dumpMetric(loaded, 'wrapped').samples.map(([v]) => v)).toEqual(Array.from({ length: 16 }, (_, i) => 25 + i))
  })

  it('bucket bounds that differ between save and load leave the bucket counts at zero but keep totals', async () => {
    const { store } = populated()
    const before = dump(store)
    const data = await encodeState(store, WALL)
    const fewer = [1_000, 1_000_000, 1_000_000_000]
    const sameLength = Array.from(store.bucketBoundsNs, (b) => b * 2)
    for (const bucketBoundsNs of [fewer, sameLength]) {
      const loaded = makeStore(manualClock(), { bucketBoundsNs })
      decodeState(loaded, data, WALL)
      expect(dump(loaded)).toEqual(before.map((m) => ({ ...m, buckets: new Array<number>(bucketBoundsNs.length + 1).fill(0) })))
    }
    // Same bounds: the counts carry over, and they are not all zero to begin with.
    const same = makeStore(manualClock())
    decodeState(same, data, WALL)
    expect(dumpMetric(same, 'alpha').buckets.reduce((a, b) => a + b, 0)).toBe(10)
  })

  it('a smaller MAX_METRICS on load skips the extra ids and counts them', async () => {
    const clock = manualClock()
    const store = makeStore(clock)
    const ids = ['e', 'a', 'd', 'b', 'c']
    for (const [i, id] of ids.entries()) {
      record(store, id, [i + 1, 100 * (i + 1)])
      job(store, id, 'created', i + 1)
      clock.advance(1_000)
    }
    const data = await encodeState(store, WALL)
    const loaded = makeStore(manualClock(), { maxMetrics: 3 })
    expect(decodeState(loaded, data, WALL)).toEqual({ metrics: 3, samples: 6, skipped: 2 })
    expect(loaded.size).toBe(3)
    // Whichever ids were kept, each is whole and correct.
    for (const m of loaded.sorted()) expect(dumpMetric(loaded, m.id)).toEqual(dumpMetric(store, m.id))
    // The store is full: a new id is refused as it would be at runtime.
    expect(loaded.acquire('zzz')).toBeUndefined()
  })

  it('a write to a metric during the pauses of a save does not corrupt the file', async () => {
    // encodeState yields every 64 metrics; a request served in that pause may add
    // samples to a metric not yet written. The file must stay self-consistent:
    // each metric's counters describe exactly the samples saved with it.
    const clock = manualClock()
    const store = makeStore(clock)
    const ids = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}`)
    for (const id of ids) record(store, id, [1, 2, 3])
    clock.advance(1_000)
    const before = dump(store)
    let pauses = 0
    const data = await encodeState(store, WALL, async () => {
      pauses++
      // The last metric (written after every pause) and one in the middle.
      record(store, 'm199', [4_000_000_000, 5_000_000_000])
      record(store, 'm150', [6_000_000_000])
      clock.advance(10)
    })
    expect(pauses).toBeGreaterThan(0)
    const loaded = makeStore(manualClock(clock.now()))
    decodeState(loaded, data, WALL)
    expect(loaded.size).toBe(200)
    for (const m of before) {
      const got = dumpMetric(loaded, m.id)
      const values = got.samples.map(([v]) => v)
      // The samples are at least those of the moment the save began, each a real
      // one with a real age (none from another field)...
      expect(values.slice(0, 3), m.id).toEqual([1, 2, 3])
      for (const [v, age] of got.samples) {
        expect([1, 2, 3, 4_000_000_000, 5_000_000_000, 6_000_000_000], m.id).toContain(v)
        expect(age, m.id).toBeGreaterThanOrEqual(0)
        expect(age, m.id).toBeLessThan(WINDOW_MS)
      }
      // ...and the counters were read with them: they count exactly those samples.
      expect(got.total, m.id).toBe(values.length)
      expect(got.sumNs, m.id).toBe(values.reduce((a, b) => a + b, 0))
      expect(
        got.buckets.reduce((a, b) => a + b, 0),
        m.id,
      ).toBe(values.length)
      if (m.id !== 'm150' && m.id !== 'm199') expect(got, m.id).toEqual(m)
    }
    // Both were reached after a pause, so they carry what was recorded in it.
    expect(dumpMetric(loaded, 'm150').samples.length).toBeGreaterThan(3)
    expect(dumpMetric(loaded, 'm199').samples.length).toBe(3 + 2 * pauses)
  })

  it('a metric deleted during a pause of a save is left out of the file, and the others are intact', async () => {
    // Its counter block and ring region go back to be reused at once, here by a
    // new metric created in the same pause: nothing of either may be saved as the
    // deleted metric's.
    const clock = manualClock()
    const store = makeStore(clock)
    const ids = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}`)
    // 10 samples each: every ring has grown to a 16-pair region.
    ids.forEach((id, i) =>
      record(
        store,
        id,
        Array.from({ length: 10 }, (_, k) => i * 100 + k + 1),
      ),
    )
    job(store, 'm150', 'created', 7)
    clock.advance(1_000)
    const before = dump(store)
    const doomed = store.get('m150')!
    const doomedRegion = regionOf(doomed)
    let pauses = 0
    const data = await encodeState(store, WALL, async () => {
      pauses++
      if (pauses !== 1) return
      // After m000..m063 are written: m150 and m100 are still to come.
      expect(store.delete('m150')).toBe(true)
      const thief = store.acquire('thief')!
      store.recordLatencies(thief, new Array<number>(10).fill(999_999))
      store.recordJob(thief, 'failed', 3)
      expect(thief.counterBlock().base).toBe(doomed.counterBlock().base)
      expect(regionOf(thief)).toEqual(doomedRegion)
      // And one deleted and created again under the same id.
      expect(store.delete('m100')).toBe(true)
      record(store, 'm100', [5])
      clock.advance(10)
    })
    expect(pauses).toBe(3)
    const loaded = makeStore(manualClock(clock.now()))
    // Metrics created during the save (thief, the new m100) wait for the next one.
    expect(decodeState(loaded, data, WALL)).toEqual({ metrics: 198, samples: 1_980, skipped: 0 })
    for (const id of ['m150', 'm100', 'thief']) expect(loaded.get(id), id).toBeUndefined()
    expect(dump(loaded)).toEqual(before.filter((m) => m.id !== 'm150' && m.id !== 'm100'))
    // The next save has the store as it is now.
    const next = makeStore(manualClock(clock.now()))
    decodeState(next, await encodeState(store, WALL), WALL)
    expect(dump(next)).toEqual(dump(store))
    expect(dumpMetric(next, 'thief').samples.map(([v]) => v)).toEqual(new Array(10).fill(999_999))
  })
})

describe('decodeState refuses anything that is not a whole, intact state', () => {
  let data: Buffer
  beforeEach(async () => {
    data = await encodeState(populated().store, WALL)
  })

  function expectCorrupt(bytes: Buffer) {
    const store = makeStore(manualClock())
    expect(() => decodeState(store, bytes, WALL)).toThrow(CorruptStateError)
    expect(store.size).toBe(0)
  }

  it('an empty buffer', () => {
    expectCorrupt(Buffer.alloc(0))
  })

  it('a truncated buffer, cut anywhere', () => {
    const cuts = new Set([1, 7, 8, 11, 12, 13, 40, data.length >> 2, data.length >> 1, data.length - 33, data.length - 32, data.length - 31, data.length - 1])
    for (let cut = 0; cut < data.length; cut += 17) cuts.add(cut)
    for (const cut of cuts) expectCorrupt(data.subarray(0, cut))
  })

  it('extra bytes after the end', () => {
    expectCorrupt(Buffer.concat([data, Buffer.from([0])]))
    expectCorrupt(Buffer.concat([data, data]))
  })

  it('one byte changed anywhere (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: data.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
        const damaged = Buffer.from(data)
        damaged[position] ^= xor
        expectCorrupt(damaged)
      }),
      { numRuns: 500 },
    )
    // Every position at least once, with a single flipped bit.
    for (let position = 0; position < data.length; position++) {
      const damaged = Buffer.from(data)
      damaged[position] ^= 1 << (position % 8)
      expectCorrupt(damaged)
    }
  })

  it('random bytes, with or without the right magic in front', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_048 }), fc.boolean(), (bytes, withMagic) => {
        const buf = Buffer.from(bytes)
        expectCorrupt(withMagic ? Buffer.concat([Buffer.from('LTSTATE1', 'latin1'), buf]) : buf)
      }),
      { numRuns: 300 },
    )
    expectCorrupt(randomBytes(64 * 1024))
  })
})

/** A PersistenceLog that keeps every call. */
function recordingLog() {
  const calls: Array<{ level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }> = []
  return {
    calls,
    errors: () => calls.filter((c) => c.level === 'error'),
    info(obj: object, msg: string) {
      calls.push({ level: 'info', obj: obj as Record<string, unknown>, msg })
    },
    warn(obj: object, msg: string) {
      calls.push({ level: 'warn', obj: obj as Record<string, unknown>, msg })
    },
    error(obj: object, msg: string) {
      calls.push({ level: 'error', obj: obj as Record<string, unknown>, msg })
    },
  }
}

describe('StatePersistence', () => {
  let dir: string
  let file: string
  const opened: StatePersistence[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latency-tracker-state-'))
    file = join(dir, 'state.bin')
  })

  afterEach(async () => {
    // Stop the timers of any persistence a test started (the final save lands in dir).
    // One at a time: two final saves of one file at once would share its temporary file.
    for (const p of opened.splice(0)) await p.stop()
    await rm(dir, { recursive: true, force: true })
  })

  function persistence(store: MetricStore, log = recordingLog(), wallNow: () => number = () => WALL, intervalMs = 3_600_000) {
    const p = new StatePersistence(store, file, intervalMs, log, wallNow)
    opened.push(p)
    return p
  }

  async function decodeFile(path = file) {
    const store = makeStore(manualClock())
    decodeState(store, await readFile(path), WALL)
    return store
  }

  it('a missing file is a clean start, logged as such', async () => {
    const store = makeStore(manualClock())
    const log = recordingLog()
    expect(await persistence(store, log).load()).toBeUndefined()
    expect(store.size).toBe(0)
    expect(log.errors()).toEqual([])
    expect(log.calls).toHaveLength(1)
    expect(log.calls[0]).toMatchObject({ level: 'info', obj: { stateFile: file } })
    expect(log.calls[0].msg).toMatch(/no state file/)
    expect(await readdir(dir)).toEqual([])
  })

  it('removes temporary files left by a process killed mid-write, and nothing else', async () => {
    const { store } = populated()
    await persistence(store).save()
    // What a save (.<name>.tmp-<pid>) and the folder check (.<name>.tmp-<pid>-probe) leave.
    await writeFile(join(dir, '.state.bin.tmp-12345'), 'half a save')
    await writeFile(join(dir, `.state.bin.tmp-${process.pid}`), 'half a save of a process with this pid')
    await writeFile(join(dir, '.state.bin.tmp-12345-probe'), '')
    // Names close to those, which the service never writes.
    const others = [
      'other.txt',
      '.state.bin.tmp-backup',
      '.state.bin.tmp-',
      '.state.bin.tmp--probe',
      '.state.bin.tmp-12x',
      '.state.bin.tmp-12345-old',
      '.state.bin.tmp-12345-probe.bak',
      '.state.bin.tmp-12345\n',
      '.other.bin.tmp-12345',
    ]
    for (const name of others) await writeFile(join(dir, name), 'not ours')
    const loaded = makeStore(manualClock())
    await persistence(loaded).load()
    expect(dump(loaded)).toEqual(dump(store))
    expect((await readdir(dir)).sort()).toEqual([...others, 'state.bin'].sort())
    for (const name of others) expect(await readFile(join(dir, name), 'utf8')).toBe('not ours')
  })

  it('loads a saved file into the store and logs what it loaded', async () => {
    const { store } = populated()
    await persistence(store).save()
    const loaded = makeStore(manualClock())
    const log = recordingLog()
    expect(await persistence(loaded, log).load()).toEqual({ metrics: 4, samples: 15, skipped: 0 })
    expect(dump(loaded)).toEqual(dump(store))
    expect(log.errors()).toEqual([])
    expect(log.calls[0]).toMatchObject({ level: 'info', obj: { stateFile: file, metrics: 4, samples: 15, skipped: 0 } })
  })

  // Files of this service's format (they begin with its magic) that are damaged.
  const corruptions: Array<[string, () => Promise<Buffer>]> = [
    ['a truncated file', async () => (await encodeState(populated().store, WALL)).subarray(0, 100)],
    ['the magic followed by random bytes', async () => Buffer.concat([Buffer.from('LTSTATE2', 'latin1'), randomBytes(5_000)])],
    [
      'a file with one byte changed',
      async () => {
        const data = await encodeState(populated().store, WALL)
        data[data.length >> 1] ^= 0x40
        return data
      },
    ],
  ]

  for (const [name, make] of corruptions) {
    it(`${name}: moved aside with its bytes intact, an error logged, the store empty, and later saves write a fresh file`, async () => {
      const bad = await make()
      await writeFile(file, bad)
      const store = makeStore(manualClock())
      const log = recordingLog()
      const p = persistence(store, log)
      expect(await p.load()).toBeUndefined()
      expect(store.size).toBe(0)

      const aside = `${file}.corrupt-2023-11-14T22-13-20-000Z`
      expect((await readdir(dir)).sort()).toEqual([`state.bin.corrupt-2023-11-14T22-13-20-000Z`])
      expect((await readFile(aside)).equals(bad)).toBe(true)
      expect(log.errors()).toHaveLength(1)
      expect(log.errors()[0].obj).toMatchObject({ stateFile: file, movedTo: aside })
      expect(log.errors()[0].obj.err).toBeInstanceOf(CorruptStateError)

      // Service goes on: a later save writes a valid file beside the corrupt copy.
      record(store, 'after', [42])
      await p.save()
      expect((await readdir(dir)).sort()).toEqual(['state.bin', `state.bin.corrupt-2023-11-14T22-13-20-000Z`])
      expect(dump(await decodeFile())).toMatchObject([{ id: 'after', total: 1 }])
      expect((await readFile(aside)).equals(bad)).toBe(true)
      expect(log.errors()).toHaveLength(1)
    })
  }

  // Files the service did not write (they do not begin with its magic): the start stops (exit 2) and they stay.
  const foreign: Array<[string, () => Buffer]> = [
    ['random bytes', () => Buffer.concat([Buffer.from([0]), randomBytes(5_000)])],
    ['an empty file', () => Buffer.alloc(0)],
    ['not a state file', () => Buffer.from('not a state file')],
  ]

  for (const [name, make] of foreign) {
    it(`${name}: load() throws UnusableStatePathError and the file stays byte for byte, with no copy beside it`, async () => {
      const bytes = make()
      await writeFile(file, bytes)
      const store = makeStore(manualClock())
      const log = recordingLog()
      const load = persistence(store, log).load()
      await expect(load).rejects.toThrow(UnusableStatePathError)
      await expect(load).rejects.toThrow(`${file} is not a latency-tracker state file (it does not begin with LTSTATE): it was left as it is`)
      expect(await readdir(dir)).toEqual(['state.bin'])
      expect((await readFile(file)).equals(bytes)).toBe(true)
      expect(store.size).toBe(0)
      expect(log.errors()).toEqual([])
    })
  }

  it('the corrupt copy is named after the wall-clock time of the load', async () => {
    await writeFile(file, 'LTSTATE2, then not a state file')
    const log = recordingLog()
    await persistence(makeStore(manualClock()), log, () => Date.UTC(2030, 0, 2, 3, 4, 5, 6)).load()
    expect(await readdir(dir)).toEqual(['state.bin.corrupt-2030-01-02T03-04-05-006Z'])
    expect(log.errors()[0].obj.movedTo).toBe(`${file}.corrupt-2030-01-02T03-04-05-006Z`)
  })

  it('writeStateFile writes parts in order: empty ones, and more than one writev takes', async () => {
    const parts = Array.from({ length: 2_500 }, (_, i) => Buffer.alloc(i % 7, i % 251))
    await writeStateFile(file, parts)
    expect((await readFile(file)).equals(Buffer.concat(parts))).toBe(true)
    // The parts of a state file are exactly encodeState's bytes.
    const { store } = populated()
    await writeStateFile(file, await encodeStateParts(store, WALL))
    expect((await readFile(file)).equals(await encodeState(store, WALL))).toBe(true)
    expect(await readdir(dir)).toEqual(['state.bin'])
  })

  it('save() writes atomically: the file decodes and no temporary file is left in the folder', async () => {
    const { store } = populated()
    const log = recordingLog()
    const p = persistence(store, log)
    await p.save()
    expect(await readdir(dir)).toEqual(['state.bin'])
    expect(dump(await decodeFile())).toEqual(dump(store))
    // Overwriting an existing file: same again.
    record(store, 'alpha', [31_337])
    await p.save()
    expect(await readdir(dir)).toEqual(['state.bin'])
    expect(dump(await decodeFile())).toEqual(dump(store))
    expect(log.errors()).toEqual([])
  })

  it('concurrent save() calls do not interleave, and the file ends with the latest data', async () => {
    // Enough metrics that each save yields to the event loop several times on the way.
    const clock = manualClock()
    const store = makeStore(clock)
    for (let i = 0; i < 300; i++) record(store, `id-${i}`, [i + 1, i + 2])
    const log = recordingLog()
    const p = persistence(store, log)
    const saves: Promise<void>[] = []
    for (let round = 0; round < 3; round++) {
      saves.push(p.save())
      record(store, 'latest', [round + 1])
      job(store, 'latest', 'completed', 1)
    }
    const last = p.save()
    await Promise.all([...saves, last])
    // Interleaved writes share one temporary path: one rename would fail and log an error.
    expect(log.errors()).toEqual([])
    expect(await readdir(dir)).toEqual(['state.bin'])
    const saved = await decodeFile()
    expect(saved.size).toBe(301)
    expect(dumpMetric(saved, 'latest')).toMatchObject({
      total: 3,
      jobs: { completed: 3 },
      samples: [
        [1, 0],
        [2, 0],
        [3, 0],
      ],
    })
    expect(dump(saved)).toEqual(dump(store))
  })

  it('stop() writes a final save', async () => {
    const clock = manualClock()
    const store = makeStore(clock)
    const p = new StatePersistence(store, file, 3_600_000, recordingLog(), () => WALL)
    p.start()
    record(store, 'final', [1, 2, 3])
    job(store, 'final', 'failed', 2)
    await p.stop()
    expect(dump(await decodeFile())).toEqual(dump(store))
  })

  it('start() saves every interval', async () => {
    const store = makeStore(manualClock())
    record(store, 'periodic', [5])
    const p = persistence(store, recordingLog(), () => WALL, 20)
    p.start()
    const deadline = Date.now() + 10_000
    while (!(await readdir(dir)).includes('state.bin')) {
      if (Date.now() > deadline) throw new Error('no periodic save within 10 s')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await p.stop()
    expect(dump(await decodeFile())).toEqual(dump(store))
  })
})
