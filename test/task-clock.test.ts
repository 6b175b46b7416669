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
  it('reads the source once per synchronous run: every call in it gets the same time', () => {
    const source = countingSource()
    const now = taskClock(source.read)
    const first = now()
    for (let i = 0; i < 1_000; i++) expect(now()).toBe(first)
    expect(source.reads).toBe(1)
  })

  it('reads again in the next task', async () => {
    const source = countingSource()
    const now = taskClock(source.read)
    const a = now()
    await nextTask()
    expect(now()).toBeGreaterThan(a)
    expect(source.reads).toBe(2)
  })

  it('reads again in a microtask queued after the reading (the reading expires at the first microtask checkpoint)', async () => {
    const source = countingSource()
    const now = taskClock(source.read)
    const a = now()
    await Promise.resolve() // queued after the reading's expiry: runs after it
    const b = now()
    expect(b).toBeGreaterThan(a)
    expect(source.reads).toBe(2)
  })

  it('shares the reading with a microtask queued before it was taken', async () => {
    const source = countingSource()
    const now = taskClock(source.read)
    let inMicrotask = 0
    queueMicrotask(() => {
      inMicrotask = now()
    })
    const a = now() // taken after the microtask above was queued: that one runs first, and sees it
    await nextTask()
    expect(inMicrotask).toBe(a)
    expect(source.reads).toBe(1)
  })

  it('never goes backwards over a real monotonic clock', async () => {
    const now = taskClock(() => performance.now())
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
