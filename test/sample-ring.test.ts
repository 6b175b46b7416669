import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { INITIAL_CAPACITY } from '../src/store/sample-ring.js'
import { OpenRing } from './open-ring.js'
import { refGrownCapacity, ringContents, type TimedSample } from './reference.js'

/** The window as copyWindow reports it, with the copied values trimmed to its count. */
function windowOf(ring: OpenRing, since: number) {
  const dest = new Float64Array(ring.size)
  const count = ring.copyWindow(since, dest)
  return { count, values: Array.from(dest.subarray(0, count)) }
}

function expectedCapacity(pushes: number, max: number): number {
  return refGrownCapacity(pushes, max, INITIAL_CAPACITY)
}

describe('OpenRing growth', () => {
  it('starts at INITIAL_CAPACITY and grows through the size classes to a power-of-two maxCapacity', () => {
    const max = 1024
    const ring = new OpenRing(max)
    expect(ring.capacity).toBe(INITIAL_CAPACITY)
    const seen = new Set<number>([ring.capacity])
    for (let i = 1; i <= max + 10; i++) {
      ring.push(i, i)
      expect(ring.capacity).toBe(expectedCapacity(i, max))
      expect(ring.byteLength).toBe(ring.capacity * 16)
      seen.add(ring.capacity)
    }
    // A quarter of a power of two at a time while pooled (up to 512 pairs), then doubling.
    expect([...seen]).toEqual([8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 1024])
    expect(ring.size).toBe(max)
  })

  it('clamps the last growth step to a maxCapacity that is not a power of two', () => {
    const max = 10_000
    const ring = new OpenRing(max)
    const seen = new Set<number>([ring.capacity])
    for (let i = 1; i <= max + 500; i++) {
      ring.push(i, i)
      seen.add(ring.capacity)
    }
    const caps = [...seen]
    expect(caps[caps.length - 1]).toBe(max)
    expect(caps[caps.length - 2]).toBe(8192)
    expect(Math.max(...caps)).toBe(max)
    expect(ring.size).toBe(max)
    expect(ring.byteLength).toBe(max * 16)
  })

  it('starts at maxCapacity when it is below INITIAL_CAPACITY', () => {
    const ring = new OpenRing(3)
    expect(ring.capacity).toBe(3)
    for (let i = 0; i < 10; i++) ring.push(i, i)
    expect(ring.capacity).toBe(3)
    expect(ringContents(ring).map((p) => p.value)).toEqual([7, 8, 9])
  })

  it('keeps the order of samples across a growth that happens after wrapping', () => {
    // Fill to 8 (full, wrapped to next = 0), then push more so grow() must unroll.
    const ring = new OpenRing(100)
    for (let i = 0; i < 8; i++) ring.push(i, i)
    ring.push(8, 8)
    expect(ring.capacity).toBe(10)
    expect(ringContents(ring).map((p) => p.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('rejects a maxCapacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new OpenRing(bad)).toThrow(RangeError)
    }
  })
})

describe('OpenRing wrap-around', () => {
  it('keeps exactly the most recent maxCapacity samples, oldest first', () => {
    const max = 50
    const ring = new OpenRing(max)
    const pushed: TimedSample[] = []
    for (let i = 0; i < 3 * max + 7; i++) {
      const p = { value: 1000 + i, time: i * 3 }
      ring.push(p.value, p.time)
      pushed.push(p)
      expect(ring.size).toBe(Math.min(pushed.length, max))
      expect(ringContents(ring)).toEqual(pushed.slice(-max))
    }
    expect(ring.capacity).toBe(max)
  })

  it('works with capacity 1: always holds only the newest sample', () => {
    const ring = new OpenRing(1)
    expect(ring.capacity).toBe(1)
    expect(ring.size).toBe(0)
    expect(windowOf(ring, -Infinity).count).toBe(0)
    for (let i = 1; i <= 5; i++) {
      ring.push(i * 10, i)
      expect(ring.size).toBe(1)
      expect(ringContents(ring)).toEqual([{ value: i * 10, time: i }])
      expect(windowOf(ring, i - 1)).toEqual({ count: 1, values: [i * 10] })
      expect(windowOf(ring, i).count).toBe(0)
    }
    expect(ring.byteLength).toBe(16)
  })
})

describe('OpenRing.copyWindow', () => {
  it('returns only samples whose time is strictly after `since`', () => {
    const ring = new OpenRing(100)
    // times 0, 10, 10, 20, 30
    const pairs: TimedSample[] = [
      { value: 5, time: 0 },
      { value: 1, time: 10 },
      { value: 9, time: 10 },
      { value: 3, time: 20 },
      { value: 7, time: 30 },
    ]
    for (const p of pairs) ring.push(p.value, p.time)
    for (const since of [-1, 0, 5, 9, 10, 11, 20, 29, 30, 31]) {
      const want = pairs.filter((p) => p.time > since).map((p) => p.value)
      const w = windowOf(ring, since)
      expect(w.values).toEqual(want)
      expect(w.count).toBe(want.length)
    }
  })

  it('a sample is in the window while its age is below the window length', () => {
    const ring = new OpenRing(10)
    ring.push(1, 1000)
    const windowMs = 60_000
    // age = now - 1000; since = now - windowMs
    expect(windowOf(ring, 1000 + windowMs - 1 - windowMs).count).toBe(1) // age windowMs - 1
    expect(windowOf(ring, 1000 + windowMs - windowMs).count).toBe(0) // age exactly windowMs
  })
})

describe('OpenRing memory', () => {
  it('a sparse ring with a large maxCapacity stays small', () => {
    const ring = new OpenRing(10_000)
    ring.push(1, 1)
    ring.push(2, 2)
    ring.push(3, 3)
    expect(ring.capacity).toBe(INITIAL_CAPACITY)
    expect(ring.byteLength).toBe(INITIAL_CAPACITY * 2 * 8)
    expect(ring.byteLength).toBeLessThan(10_000 * 16)
  })
})

describe('OpenRing property: matches a plain-array model', () => {
  type Op = { kind: 'push'; value: number; dt: number } | { kind: 'window'; back: number }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), value: fc.maxSafeNat(), dt: fc.nat(5) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('window' as const), back: fc.integer({ min: -2, max: 40 }) }) },
  )

  it('size, contents and every window agree with the model', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(opArb, { maxLength: 250 }), (max, ops) => {
        const ring = new OpenRing(max)
        const model: TimedSample[] = []
        let now = 0
        for (const op of ops) {
          if (op.kind === 'push') {
            now += op.dt
            ring.push(op.value, now)
            model.push({ value: op.value, time: now })
            if (model.length > max) model.shift()
            expect(ring.size).toBe(model.length)
            expect(ring.capacity).toBeLessThanOrEqual(max)
            expect(ring.capacity).toBeGreaterThanOrEqual(ring.size)
          } else {
            const since = now - op.back
            const inside = model.filter((p) => p.time > since).map((p) => p.value)
            const w = windowOf(ring, since)
            expect(w.values).toEqual(inside)
            expect(w.count).toBe(inside.length)
          }
        }
        expect(ringContents(ring)).toEqual(model)
      }),
      { numRuns: 200 },
    )
  })
})

describe('OpenRing.pushMany', () => {
  const pairs = (ring: OpenRing) => {
    const out: [number, number][] = []
    ring.forEach((v, t) => out.push([v, t]))
    return out
  }

  it('leaves the ring exactly as the same push() calls would (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.array(fc.integer({ min: 1, max: 1_000 }), { maxLength: 60 }), { maxLength: 12 }),
        (max, batches) => {
          const one = new OpenRing(max)
          const many = new OpenRing(max)
          batches.forEach((batch, time) => {
            for (const v of batch) one.push(v, time)
            many.pushMany(batch, time)
            expect(many.size).toBe(one.size)
            expect(many.capacity).toBe(one.capacity)
            expect(pairs(many)).toEqual(pairs(one))
          })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('keeps only the last maxCapacity values of a batch larger than the ring', () => {
    const ring = new OpenRing(5)
    ring.pushMany([1, 2, 3, 4, 5, 6, 7, 8], 1)
    expect(pairs(ring).map(([v]) => v)).toEqual([4, 5, 6, 7, 8])
  })
})
