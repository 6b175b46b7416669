import { setImmediate as nextTask } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { taskClock } from '../src/store/task-clock.js'

function countingSource() {
  let t = 100
  let reads = 0
  return {
    read: () => {
      reads++
      t += 7
      return t
    },
    get reads() {
      return reads
    },
  }
}

describe('taskClock', () => {
  it('reads the source once per task: every call in the same task gets the same time', () => {
    const source = countingSource()
    const now = taskClock(source.read)
    const first = now()
    for (let i = 0; i < 1_000; i++) expect(now()).toBe(first)
    expect(source.reads).toBe(1)
  })

  it('reads again in the next task, and in microtasks queued after the reading expired', async () => {
    const source = countingSource()
    const now = taskClock(source.read)
    const a = now()
    await nextTask()
    const b = now()
    expect(b).toBeGreaterThan(a)
    expect(source.reads).toBe(2)
    // Still the same task: microtasks queued before the expiry see the same reading.
    await Promise.resolve()
    await Promise.resolve()
    const c = now()
    expect(c).toBeGreaterThanOrEqual(b)
  })

  it('reads performance.now() by default, never going backwards', async () => {
    const now = taskClock()
    let last = -Infinity
    for (let i = 0; i < 20; i++) {
      await nextTask()
      const before = performance.now()
      const t = now()
      expect(t).toBeGreaterThanOrEqual(before)
      expect(t).toBeLessThanOrEqual(performance.now())
      expect(t).toBeGreaterThanOrEqual(last)
      last = t
    }
  })
})
