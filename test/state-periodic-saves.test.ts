import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MetricStore } from '../src/store/metric-store.js'
import { StatePersistence } from '../src/store/state-persistence.js'

const quiet = { info() {}, warn() {}, error() {} }

afterEach(() => {
  vi.useRealTimers()
})

describe('periodic saves', () => {
  it('never queue behind a save that outlasts the interval: the next one is counted from its end', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lt-periodic-'))
    try {
      const store = new MetricStore({ maxMetrics: 10, maxSamples: 100, windowMs: 60_000 })
      store.ingestSamples('a', [1, 2, 3])
      // Each save reads the wall clock twice (for the file, then for state_saved_at): the count says how many ran.
      let readings = 0
      const persistence = new StatePersistence(store, join(folder, 's.bin'), 100, quiet, () => (++readings, Date.now()))
      await persistence.load()
      readings = 0
      // Only the timers are faked: the save's file I/O and its yields run for real, so every
      // save is still running when the fake clock jumps ten intervals ahead at once.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
      persistence.start()
      vi.advanceTimersByTime(1_000)
      await persistence.stop()
      // One periodic save, then the final one; not ten periodic saves queued, then the final one.
      expect(readings / 2).toBe(2)
      expect(persistence.status.failures).toBe(0)
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })
})
