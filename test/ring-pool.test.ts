import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_CHUNK_SAMPLES, DEFAULT_MAX_POOLED_SAMPLES, RingPool, type RingRegion } from '../src/store/ring-pool.js'
import { INITIAL_CAPACITY } from '../src/store/sample-ring.js'
import { OpenRing } from './open-ring.js'
import { refGrownCapacity, ringContents, type TimedSample } from './reference.js'

/** Element ranges [from, to) of regions in the same array must not intersect. */
function expectDisjoint(regions: RingRegion[]) {
  for (let a = 0; a < regions.length; a++) {
    for (let b = a + 1; b < regions.length; b++) {
      const x = regions[a]
      const y = regions[b]
      if (x.array !== y.array) continue
      const apart = x.base + x.samples * 2 <= y.base || y.base + y.samples * 2 <= x.base
      expect(apart, `regions ${a} [${x.base}, +${x.samples} samples) and ${b} [${y.base}, +${y.samples} samples)`).toBe(true)
    }
  }
}

describe('RingPool', () => {
  it('rounds a capacity up to its size class (four per power of two), up to maxPooledSamples', () => {
    const pool = new RingPool(512, 4096)
    const cases: Array<[number, number]> = [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [7, 7],
      [8, 8],
      [9, 10],
      [11, 12],
      [13, 14],
      [15, 16],
      [16, 16],
      [40, 40],
      [41, 48],
      [385, 448],
      [449, 512],
      [511, 512],
      [512, 512],
      [513, 513],
      [10_000, 10_000],
    ]
    for (const [capacity, samples] of cases) {
      expect(pool.regionSamples(capacity), `capacity ${capacity}`).toBe(samples)
      const region = pool.allocate(capacity)
      expect(region.samples, `capacity ${capacity}`).toBe(samples)
      expect(region.base % 2).toBe(0)
      expect(region.base + samples * 2).toBeLessThanOrEqual(region.array.length)
    }
  })

  it('grows a capacity to the next class up, and doubles it beyond the pooled sizes', () => {
    const pool = new RingPool(512, 4096)
    const steps = [1]
    while (steps[steps.length - 1] < 4096) steps.push(pool.grownCapacity(steps[steps.length - 1]))
    expect(steps).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 1024, 2048, 4096,
    ])
    expect(pool.grownCapacity(11)).toBe(12) // from a clamped capacity too
  })

  it('carves small regions from shared chunks, without overlap, and starts a chunk only when one is full', () => {
    const chunkSamples = 64
    const pool = new RingPool(16, chunkSamples)
    expect(pool.byteLength).toBe(0)
    const regions = Array.from({ length: 8 }, () => pool.allocate(8)) // 8 × 8 samples fill one chunk
    expect(pool.byteLength).toBe(chunkSamples * 16)
    expect(new Set(regions.map((r) => r.array)).size).toBe(1)
    expect(regions[0].array.buffer).toBeInstanceOf(SharedArrayBuffer)
    expectDisjoint(regions)
    const next = pool.allocate(8)
    expect(pool.byteLength).toBe(2 * chunkSamples * 16)
    expect(next.array).not.toBe(regions[0].array)
    expect(next.base).toBe(0)
  })

  it('cuts the unused tail of a chunk into free regions when a request does not fit', () => {
    const pool = new RingPool(16, 64)
    const held = [pool.allocate(16), pool.allocate(16), pool.allocate(16), pool.allocate(8)] // 56 of 64 samples
    const big = pool.allocate(16) // does not fit: new chunk, the 8-pair tail goes to the free list
    expect(big.array).not.toBe(held[0].array)
    expect(pool.freeCount(8)).toBe(1)
    const tail = pool.allocate(8)
    expect(tail.array).toBe(held[0].array)
    expect(tail.base).toBe(56 * 2)
    expect(pool.byteLength).toBe(2 * 64 * 16)
    expectDisjoint([...held, big, tail])
  })

  it('reuses a released region (most recent first) before carving new memory', () => {
    const pool = new RingPool(512, 4096)
    const a = pool.allocate(16)
    const b = pool.allocate(16)
    const c = pool.allocate(32)
    const bytes = pool.byteLength
    pool.release(a.array, a.base, 16)
    pool.release(b.array, b.base, 15) // any capacity of the same class
    expect(pool.freeCount(16)).toBe(2)
    const first = pool.allocate(15)
    expect([first.array, first.base]).toEqual([b.array, b.base])
    const second = pool.allocate(16)
    expect([second.array, second.base]).toEqual([a.array, a.base])
    expect(pool.freeCount(16)).toBe(0)
    // Another class is not served from the 16-pair list.
    pool.release(first.array, first.base, 16)
    const other = pool.allocate(32)
    expect(other.base).not.toBe(first.base)
    expect(pool.byteLength).toBe(bytes)
    expectDisjoint([second, c, other, first])
  })

  it('gives capacities above maxPooledSamples an array of their own, exactly their size', () => {
    const pool = new RingPool(64, 256)
    const big = pool.allocate(65)
    expect(big.base).toBe(0)
    expect(big.samples).toBe(65)
    expect(big.array.length).toBe(130)
    expect(big.array.buffer).not.toBeInstanceOf(SharedArrayBuffer)
    expect(pool.byteLength).toBe(0)
    pool.release(big.array, big.base, 65) // nothing to keep: left to the garbage collector
    const again = pool.allocate(65)
    expect(again.array).not.toBe(big.array)
    expect(pool.byteLength).toBe(0)
  })

  it('defaults to 64 KiB chunks and pools rings of up to 512 samples', () => {
    expect(DEFAULT_CHUNK_SAMPLES * 16).toBe(64 * 1024)
    expect(DEFAULT_MAX_POOLED_SAMPLES).toBe(512)
    const pool = new RingPool()
    pool.allocate(1)
    expect(pool.byteLength).toBe(64 * 1024)
  })

  it('rejects sizes that are not powers of two, or chunks smaller than the largest class', () => {
    expect(() => new RingPool(100, 4096)).toThrow(RangeError)
    expect(() => new RingPool(512, 1000)).toThrow(RangeError)
    expect(() => new RingPool(512, 256)).toThrow(RangeError)
    expect(() => new RingPool(0, 256)).toThrow(RangeError)
  })
})

describe('OpenRing on a shared RingPool', () => {
  it('small rings share chunks; a ring past maxPooledSamples moves to its own array', () => {
    const pool = new RingPool(32, 64)
    const a = new OpenRing(100, pool)
    const b = new OpenRing(100, pool)
    expect(pool.byteLength).toBe(64 * 16) // two 8-pair regions in one chunk
    for (let i = 0; i < 32; i++) a.push(i, i)
    expect(a.capacity).toBe(32)
    expect(a.byteLength).toBe(32 * 16)
    a.push(32, 32)
    expect(a.capacity).toBe(64)
    expect(a.byteLength).toBe(64 * 16)
    const values: number[] = []
    a.forEach((v) => values.push(v))
    expect(values).toEqual(Array.from({ length: 33 }, (_, i) => i))
    // b never saw a's writes.
    expect(b.size).toBe(0)
    b.push(-1, 0)
    a.forEach((v) => expect(v).toBeGreaterThanOrEqual(0))
  })

  it('a clamped capacity below the threshold takes the region of its size class', () => {
    const ring = new OpenRing(41, new RingPool())
    for (let i = 0; i < 100; i++) ring.push(i, i)
    expect(ring.capacity).toBe(41)
    expect(ring.byteLength).toBe(48 * 16)
    const values: number[] = []
    ring.forEach((v) => values.push(v))
    expect(values).toEqual(Array.from({ length: 41 }, (_, i) => 59 + i))
  })

  it('release() returns the region: the next ring of that class gets it, and the released ring sees nothing', () => {
    const pool = new RingPool()
    const old = new OpenRing(1_000, pool)
    for (let i = 0; i < 10; i++) old.push(i + 1, i) // grows to 10 samples; its 8-pair region is free
    const before = pool.freeCount(10)
    old.release()
    expect(pool.freeCount(10)).toBe(before + 1)
    expect(old.size).toBe(0)
    expect(old.capacity).toBe(0)
    expect(old.byteLength).toBe(0)
    old.release() // twice is harmless
    expect(pool.freeCount(10)).toBe(before + 1)

    const fresh = new OpenRing(1_000, pool)
    fresh.pushMany([7, 7, 7, 7, 7, 7, 7, 7, 7, 7], 50) // needs 10 samples: takes old's region
    expect(pool.freeCount(10)).toBe(before)
    const samples: number[][] = []
    fresh.forEach((v, t) => samples.push([v, t]))
    expect(samples).toEqual(Array.from({ length: 10 }, () => [7, 50]))

    // The released ring reads nothing and ignores writes, which would land in fresh's region.
    const seen: number[] = []
    old.forEach((v) => seen.push(v))
    expect(seen).toEqual([])
    expect(old.copyWindow(-Infinity, new Float64Array(16))).toBe(0)
    old.push(99, 60)
    old.pushMany([99, 99], 60)
    expect(old.size).toBe(0)
    const after: number[] = []
    fresh.forEach((v) => after.push(v))
    expect(after).toEqual(new Array(10).fill(7))
  })
})

describe('pooled rings match plain-array models (property)', () => {
  type Op =
    | { kind: 'push'; ring: number; value: number; dt: number }
    | { kind: 'pushMany'; ring: number; values: number[]; dt: number }
    | { kind: 'window'; ring: number; back: number }
    | { kind: 'release'; ring: number }

  const RINGS = 6
  const ringIndex = fc.nat(RINGS - 1)
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('push' as const), ring: ringIndex, value: fc.maxSafeNat(), dt: fc.nat(3) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('pushMany' as const),
        ring: ringIndex,
        values: fc.array(fc.maxSafeNat(), { maxLength: 70 }),
        dt: fc.nat(3),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('window' as const), ring: ringIndex, back: fc.integer({ min: -1, max: 30 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), ring: ringIndex }) },
  )

  /** The region a ring holds (private fields, read for the overlap check only). */
  function regionOf(ring: OpenRing, pool: RingPool): RingRegion {
    const r = ring as unknown as { slots: Float64Array; base: number; cap: number }
    return { array: r.slots, base: r.base, samples: pool.regionSamples(r.cap) }
  }

  it('push, pushMany, copyWindow and forEach agree with the model across growth, wrap, release and reuse', () => {
    fc.assert(
      fc.property(
        // Class sizes fill their regions to the last pair, where an overlap would show.
        fc.array(fc.oneof(fc.integer({ min: 1, max: 80 }), fc.constantFrom(2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)), { minLength: RINGS, maxLength: RINGS }),
        fc.constantFrom<[number, number]>([4, 8], [8, 16], [8, 32], [16, 64], [64, 64]),
        fc.array(opArb, { maxLength: 200 }),
        (maxes, [maxPooled, chunkSamples], ops) => {
          // A tiny pool: many chunks, tails cut up, regions reused all the time,
          // and rings past maxPooled moving to arrays of their own.
          const pool = new RingPool(maxPooled, chunkSamples)
          const rings = maxes.map((max) => new OpenRing(max, pool))
          const models: TimedSample[][] = maxes.map(() => [])
          // The most samples each ring has held since it was made (drives its capacity).
          const peak = maxes.map(() => 0)
          let now = 0
          for (const op of ops) {
            const i = op.ring
            const max = maxes[i]
            if (op.kind === 'push') {
              now += op.dt
              rings[i].push(op.value, now)
              models[i].push({ value: op.value, time: now })
            } else if (op.kind === 'pushMany') {
              now += op.dt
              rings[i].pushMany(op.values, now)
              for (const value of op.values) models[i].push({ value, time: now })
            } else if (op.kind === 'window') {
              const since = now - op.back
              const inside = models[i].filter((p) => p.time > since).map((p) => p.value)
              const dest = new Float64Array(rings[i].size)
              const count = rings[i].copyWindow(since, dest)
              expect(Array.from(dest.subarray(0, count))).toEqual(inside)
            } else {
              // Release, then a new ring in its place: it may take the region just freed.
              rings[i].release()
              expect(rings[i].size).toBe(0)
              expect(ringContents(rings[i])).toEqual([])
              rings[i] = new OpenRing(max, pool)
              models[i] = []
              peak[i] = 0
            }
            if (models[i].length > max) models[i].splice(0, models[i].length - max)
            peak[i] = Math.max(peak[i], models[i].length)
            // Every ring, not only the one touched: a write must never show up in another.
            for (let r = 0; r < RINGS; r++) {
              expect(ringContents(rings[r]), `ring ${r} after ${op.kind} on ${i}`).toEqual(models[r])
              expect(rings[r].size).toBe(models[r].length)
              expect(rings[r].capacity).toBe(refGrownCapacity(peak[r], maxes[r], INITIAL_CAPACITY, maxPooled))
            }
            expectDisjoint(rings.map((ring) => regionOf(ring, pool)))
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
