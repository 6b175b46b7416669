/**
 * 64-bit counters in SharedArrayBuffer memory, updated with Atomics so another
 * thread holding the same buffer can read them without tearing. BigInt64 cells
 * stay exact far past 2^32 (a counter at 50k/s passes 2^31 in half a day);
 * values are handed out as numbers, exact up to 2^53.
 *
 * A cell may instead hold a double (a running sum, a timestamp), read and written
 * through `reals`, a Float64Array over the same memory: keeping such values here
 * rather than in object fields spares each its own boxed heap number. Or it may
 * hold two 32-bit counters, through `words` (a Uint32Array over the same memory),
 * for an owner that carries their overflow itself (a Metric's histogram buckets).
 */
export class CounterBlock {
  constructor(
    readonly cells: BigInt64Array,
    readonly base: number,
    readonly width: number,
    readonly reals = new Float64Array(cells.buffer),
    readonly words = new Uint32Array(cells.buffer),
  ) {}

  /** A block over its own SharedArrayBuffer. */
  static create(width: number): CounterBlock {
    return new CounterBlock(new BigInt64Array(new SharedArrayBuffer(width * 8)), 0, width)
  }

  increment(slot: number): void {
    Atomics.add(this.cells, this.base + slot, 1n)
  }

  decrement(slot: number): void {
    Atomics.sub(this.cells, this.base + slot, 1n)
  }

  add(slot: number, amount: number): void {
    addToCell(this.cells, this.base + slot, amount)
  }

  get(slot: number): number {
    return readCell(this.cells, this.base + slot)
  }

  /** Sets a cell outright: restoring saved state, or tests at overflow boundaries. */
  set(slot: number, value: number | bigint): void {
    writeCell(this.cells, this.base + slot, value)
  }

  reset(): void {
    for (let i = 0; i < this.width; i++) Atomics.store(this.cells, this.base + i, 0n)
  }
}

/*
 * The cell operations, for owners that keep (cells, base) in their own fields
 * rather than hold a CounterBlock object (a Metric: one heap object fewer per id).
 */
export function readCell(cells: BigInt64Array, index: number): number {
  return Number(Atomics.load(cells, index))
}

export function addToCell(cells: BigInt64Array, index: number, amount: number): void {
  Atomics.add(cells, index, BigInt(amount))
}

export function writeCell(cells: BigInt64Array, index: number, value: number | bigint): void {
  Atomics.store(cells, index, BigInt(value))
}

/**
 * Hands out fixed-width CounterBlocks carved from shared chunks, so a metric's
 * counters cost `width` cells rather than a SharedArrayBuffer of their own
 * (which matters for thousands of sparse ids). Released blocks are zeroed and reused.
 */
export class CounterSlab {
  private readonly chunks: BigInt64Array[] = []
  private readonly realViews: Float64Array[] = []
  private readonly wordViews: Uint32Array[] = []
  private readonly free: CounterBlock[] = []
  private used = 0

  constructor(
    readonly width: number,
    readonly blocksPerChunk = 1024,
  ) {}

  allocate(): CounterBlock {
    const reused = this.free.pop()
    if (reused !== undefined) return reused
    const chunkIndex = Math.floor(this.used / this.blocksPerChunk)
    if (chunkIndex === this.chunks.length) {
      const buffer = new SharedArrayBuffer(this.blocksPerChunk * this.width * 8)
      this.chunks.push(new BigInt64Array(buffer))
      this.realViews.push(new Float64Array(buffer))
      this.wordViews.push(new Uint32Array(buffer))
    }
    const base = (this.used % this.blocksPerChunk) * this.width
    this.used++
    return new CounterBlock(this.chunks[chunkIndex], base, this.width, this.realViews[chunkIndex], this.wordViews[chunkIndex])
  }

  release(block: CounterBlock): void {
    block.reset()
    this.free.push(block)
  }

  /** Bytes of shared memory held by the slab. */
  get byteLength(): number {
    return this.chunks.length * this.blocksPerChunk * this.width * 8
  }
}
