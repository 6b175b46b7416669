import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CounterBlock, CounterSlab } from '../src/store/counter-block.js'
import { ServiceCounters, ServiceSlot } from '../src/store/service-counters.js'

/** Boundaries where 32-bit signed/unsigned storage or double arithmetic would go wrong. */
const BOUNDARIES = [2 ** 31, 2 ** 32, 2 ** 53 - 16]

describe('CounterBlock exactness across 32-bit boundaries', () => {
  it.each(BOUNDARIES)('increment from just below %d reads exactly', (boundary) => {
    const block = CounterBlock.create(3)
    block.set(1, boundary - 2)
    block.increment(1)
    expect(block.get(1)).toBe(boundary - 1)
    block.increment(1)
    expect(block.get(1)).toBe(boundary)
    block.increment(1)
    expect(block.get(1)).toBe(boundary + 1)
  })

  it.each(BOUNDARIES)('add across %d reads exactly', (boundary) => {
    const block = CounterBlock.create(3)
    block.set(2, boundary - 3)
    block.add(2, 5)
    expect(block.get(2)).toBe(boundary + 2)
    block.add(2, 1_000_000)
    expect(block.get(2)).toBe(boundary + 1_000_002)
  })

  it.each(BOUNDARIES)('decrement back across %d reads exactly', (boundary) => {
    const block = CounterBlock.create(1)
    block.set(0, boundary)
    block.decrement(0)
    expect(block.get(0)).toBe(boundary - 1)
  })

  it('reaches 2^53 - 1 exactly and accepts bigint in set()', () => {
    const block = CounterBlock.create(1)
    block.set(0, 2n ** 53n - 2n)
    block.increment(0)
    expect(block.get(0)).toBe(Number.MAX_SAFE_INTEGER)
    block.set(0, 0)
    block.add(0, Number.MAX_SAFE_INTEGER)
    expect(block.get(0)).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('a large add in one step is exact', () => {
    const block = CounterBlock.create(1)
    block.add(0, 2 ** 32 + 7)
    block.add(0, 2 ** 32 + 7)
    expect(block.get(0)).toBe(2 ** 33 + 14)
  })

  it('slots are independent', () => {
    const block = CounterBlock.create(4)
    block.set(1, 2 ** 32 - 1)
    block.increment(1)
    block.add(2, 3)
    expect([0, 1, 2, 3].map((s) => block.get(s))).toEqual([0, 2 ** 32, 3, 0])
  })

  it('reset() zeroes every slot of the block', () => {
    const block = CounterBlock.create(5)
    for (let s = 0; s < 5; s++) block.set(s, 2 ** 40 + s)
    block.reset()
    expect([0, 1, 2, 3, 4].map((s) => block.get(s))).toEqual([0, 0, 0, 0, 0])
  })

  it('lives in shared memory so another thread can read it', () => {
    expect(CounterBlock.create(2).cells.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(new CounterSlab(2, 4).allocate().cells.buffer).toBeInstanceOf(SharedArrayBuffer)
  })

  it('random adds match a BigInt model', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 52n }), fc.array(fc.integer({ min: 0, max: 2 ** 30 }), { maxLength: 50 }), (start, adds) => {
        const block = CounterBlock.create(1)
        block.set(0, start)
        let model = start
        for (const a of adds) {
          block.add(0, a)
          model += BigInt(a)
        }
        expect(block.get(0)).toBe(Number(model))
      }),
      { numRuns: 200 },
    )
  })
})

describe('CounterSlab', () => {
  it('hands out blocks that do not overlap, within and across chunks', () => {
    const width = 3
    const perChunk = 4
    const slab = new CounterSlab(width, perChunk)
    const blocks = Array.from({ length: perChunk * 2 + 1 }, () => slab.allocate())
    // Give every cell of every block a distinct value, then read them all back.
    blocks.forEach((b, i) => {
      for (let s = 0; s < width; s++) b.set(s, i * 100 + s + 1)
    })
    blocks.forEach((b, i) => {
      for (let s = 0; s < width; s++) expect(b.get(s)).toBe(i * 100 + s + 1)
    })
    // Incrementing one block leaves every other block untouched.
    blocks[perChunk].increment(width - 1)
    blocks.forEach((b, i) => {
      for (let s = 0; s < width; s++) {
        expect(b.get(s)).toBe(i * 100 + s + 1 + (i === perChunk && s === width - 1 ? 1 : 0))
      }
    })
    for (const b of blocks) expect(b.width).toBe(width)
  })

  it('allocates a second chunk only after blocksPerChunk blocks', () => {
    const width = 5
    const perChunk = 3
    const chunkBytes = perChunk * width * 8
    const slab = new CounterSlab(width, perChunk)
    expect(slab.byteLength).toBe(0)
    const first = slab.allocate()
    expect(slab.byteLength).toBe(chunkBytes)
    slab.allocate()
    const third = slab.allocate()
    expect(slab.byteLength).toBe(chunkBytes)
    expect(third.cells).toBe(first.cells)
    const fourth = slab.allocate()
    expect(slab.byteLength).toBe(2 * chunkBytes)
    expect(fourth.cells).not.toBe(first.cells)
  })

  it('zeroes released blocks and reuses them before growing', () => {
    const width = 4
    const slab = new CounterSlab(width, 2)
    const a = slab.allocate()
    const b = slab.allocate()
    for (let s = 0; s < width; s++) {
      a.set(s, 2 ** 33 + s)
      b.set(s, 7)
    }
    const bytes = slab.byteLength
    slab.release(a)
    const reused = slab.allocate()
    expect(slab.byteLength).toBe(bytes)
    expect(reused.cells).toBe(a.cells)
    expect(reused.base).toBe(a.base)
    for (let s = 0; s < width; s++) expect(reused.get(s)).toBe(0)
    // The neighbour kept its values through the release.
    for (let s = 0; s < width; s++) expect(b.get(s)).toBe(7)
  })

  it('live blocks never share a cell, whatever the allocate/release order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.nat(), { maxLength: 60 }), (width, perChunk, ops) => {
        const slab = new CounterSlab(width, perChunk)
        const live: CounterBlock[] = []
        for (const op of ops) {
          if (op % 3 === 0 && live.length > 0) slab.release(live.splice(op % live.length, 1)[0])
          else {
            const b = slab.allocate()
            for (let s = 0; s < width; s++) expect(b.get(s)).toBe(0)
            expect(b.base + width).toBeLessThanOrEqual(b.cells.length)
            live.push(b)
          }
        }
        // A cell is identified by its backing array and index.
        const arrays: BigInt64Array[] = []
        const cells = new Set<string>()
        for (const b of live) {
          if (!arrays.includes(b.cells)) arrays.push(b.cells)
          for (let s = 0; s < width; s++) cells.add(`${arrays.indexOf(b.cells)}:${b.base + s}`)
        }
        expect(cells.size).toBe(live.length * width)
      }),
      { numRuns: 200 },
    )
  })
})

describe('ServiceCounters', () => {
  it('counts requests by status class and tracks in-flight', () => {
    const sc = new ServiceCounters()
    for (let i = 0; i < 5; i++) sc.requestStarted()
    expect(sc.requests()).toEqual({ total: 0, in_flight: 5, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 })
    sc.requestFinished(200)
    sc.requestFinished(204)
    sc.requestFinished(304)
    sc.requestFinished(404)
    expect(sc.requests()).toEqual({ total: 4, in_flight: 1, '2xx': 2, '3xx': 1, '4xx': 1, '5xx': 0 })
    sc.requestStarted()
    sc.requestFinished(503)
    sc.requestAbandoned()
    expect(sc.requests()).toEqual({ total: 5, in_flight: 0, '2xx': 2, '3xx': 1, '4xx': 1, '5xx': 1 })
  })

  it('an abandoned request leaves in-flight but is not counted as sent', () => {
    const sc = new ServiceCounters()
    sc.requestStarted()
    sc.requestAbandoned()
    expect(sc.requests()).toEqual({ total: 0, in_flight: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 })
  })

  it('1xx and out-of-range status codes count in total only', () => {
    const sc = new ServiceCounters()
    const codes = [101, 99, 600, 0, 699, 700, 999]
    for (const code of codes) {
      sc.requestStarted()
      sc.requestFinished(code)
    }
    expect(sc.requests()).toEqual({ total: codes.length, in_flight: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 })
    // An odd status must not spill into a neighbouring counter.
    expect(sc.samplesTotal).toBe(0)
  })

  it('random request lifecycles match a model', () => {
    type Ev = { kind: 'finish'; code: number } | { kind: 'abandon' }
    const evArb: fc.Arbitrary<Ev> = fc.oneof(
      fc.record({ kind: fc.constant('finish' as const), code: fc.integer({ min: 100, max: 599 }) }),
      fc.record({ kind: fc.constant('abandon' as const) }),
    )
    fc.assert(
      fc.property(fc.array(evArb, { maxLength: 100 }), fc.nat(20), (events, stillOpen) => {
        const sc = new ServiceCounters()
        const model = { total: 0, in_flight: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }
        for (const ev of events) {
          sc.requestStarted()
          if (ev.kind === 'abandon') sc.requestAbandoned()
          else {
            sc.requestFinished(ev.code)
            model.total++
            const cls = `${String(ev.code)[0]}xx`
            if (cls in model && cls !== 'total') model[cls as '2xx' | '3xx' | '4xx' | '5xx']++
          }
        }
        for (let i = 0; i < stillOpen; i++) sc.requestStarted()
        model.in_flight = stillOpen
        expect(sc.requests()).toEqual(model)
      }),
      { numRuns: 200 },
    )
  })

  it('samplesTotal stays exact across 2^32 and 2^31', () => {
    for (const boundary of [2 ** 31, 2 ** 32]) {
      const sc = new ServiceCounters()
      sc.block.set(ServiceSlot.samplesTotal, boundary - 1)
      sc.samplesAccepted(1)
      expect(sc.samplesTotal).toBe(boundary)
      sc.samplesAccepted(10_000)
      expect(sc.samplesTotal).toBe(boundary + 10_000)
    }
  })

  it('request counters stay exact across 2^32', () => {
    const sc = new ServiceCounters()
    sc.block.set(ServiceSlot.requestsTotal, 2 ** 32 - 1)
    sc.block.set(ServiceSlot.status2xx, 2 ** 32 - 1)
    sc.requestStarted()
    sc.requestFinished(200)
    expect(sc.requests().total).toBe(2 ** 32)
    expect(sc.requests()['2xx']).toBe(2 ** 32)
  })
})
