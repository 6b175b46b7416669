/**
 * Storage for SampleRings. A ring of up to `maxPooledPairs` pairs gets a region
 * (array, base) carved from a shared chunk rather than a typed array of its own:
 * each typed array costs a malloc'd backing store plus an ArrayBuffer and a view
 * on the heap, which for a sparse id (10 pairs = 160 B of data) is more than the
 * data itself. Larger rings get their own array, exactly their capacity.
 *
 *   chunk k (Float64Array over a SharedArrayBuffer of chunkPairs * 16 bytes):
 *     [ region 16 pairs | region 10 | region 512 | ...     free tail        ]
 *       ^ base = 0        ^ base = 32  ^ base = 52         ^ bump * 2
 *
 * Invariants
 *   - Size classes are 1, 2, 3, then four per power of two P: P, 1.25P, 1.5P and
 *     1.75P (4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ... maxPooledPairs), as in jemalloc:
 *     a region is at most a fifth slack (powers of two alone waste up to half). A
 *     request is rounded up to its class. A region of class P occupies elements [base, base + 2P) of its chunk;
 *     regions handed out never overlap.
 *   - Only the last chunk has an unused tail, from element 2 * bump. When a request
 *     does not fit in it, the tail is cut into regions of the largest classes that
 *     fit, which go to the free lists, and a new chunk is started.
 *   - A released region goes on its class's free list and is handed out again by
 *     the next request of that class (most recently released first). Released
 *     memory is never returned to the system nor merged across classes: the pool
 *     holds, per class, at most the peak number of regions live at once.
 *   - Regions are not zeroed: a ring only reads the pairs it has written.
 */
export const DEFAULT_MAX_POOLED_PAIRS = 512
/** 64 KiB chunks: 4,096 pairs. */
export const DEFAULT_CHUNK_PAIRS = 4096

export interface RingRegion {
  readonly array: Float64Array
  /** Element index of the region's first slot in `array`. */
  readonly base: number
  /** Pairs the region holds: the size class, or the exact capacity when not pooled. */
  readonly pairs: number
}

export class RingPool {
  private readonly chunks: Float64Array[] = []
  /** Pairs of each size class, ascending. */
  private readonly classPairs: number[] = []
  /** By capacity 1..maxPooledPairs: the index of the smallest class that holds it. */
  private readonly classOf: Uint8Array
  /** Per class index: the arrays and bases of free regions. */
  private readonly freeArrays: Float64Array[][] = []
  private readonly freeBases: number[][] = []
  /** Pairs already carved from the last chunk. */
  private bump: number

  constructor(
    readonly maxPooledPairs = DEFAULT_MAX_POOLED_PAIRS,
    readonly chunkPairs = DEFAULT_CHUNK_PAIRS,
  ) {
    if (!isPowerOfTwo(maxPooledPairs) || !isPowerOfTwo(chunkPairs) || chunkPairs < maxPooledPairs) {
      throw new RangeError(`maxPooledPairs (${maxPooledPairs}) and chunkPairs (${chunkPairs}) must be powers of two, chunkPairs >= maxPooledPairs`)
    }
    this.classPairs.push(1, 2, 3)
    for (let p = 4; p <= maxPooledPairs; p *= 2) {
      for (const quarters of [4, 5, 6, 7]) if ((p / 4) * quarters <= maxPooledPairs) this.classPairs.push((p / 4) * quarters)
    }
    this.classOf = new Uint8Array(maxPooledPairs + 1)
    for (let capacity = 1, k = 0; capacity <= maxPooledPairs; capacity++) {
      if (this.classPairs[k] < capacity) k++
      this.classOf[capacity] = k
    }
    for (let k = 0; k < this.classPairs.length; k++) {
      this.freeArrays.push([])
      this.freeBases.push([])
    }
    this.bump = chunkPairs
  }

  /** Pairs of the region that holds a ring of `capacity` pairs. */
  regionPairs(capacity: number): number {
    return capacity > this.maxPooledPairs ? capacity : this.classPairs[this.classOf[capacity]]
  }

  /** The capacity a ring of `capacity` pairs grows to: the next class up, or double beyond the pooled sizes. */
  grownCapacity(capacity: number): number {
    return capacity < this.maxPooledPairs ? this.classPairs[this.classOf[capacity + 1]] : capacity * 2
  }

  /** A region of at least `capacity` pairs (capacity >= 1). */
  allocate(capacity: number): RingRegion {
    const pairs = this.regionPairs(capacity)
    if (pairs > this.maxPooledPairs) return { array: new Float64Array(pairs * 2), base: 0, pairs }
    const k = this.classOf[pairs]
    const bases = this.freeBases[k]
    if (bases.length > 0) {
      return { array: this.freeArrays[k].pop()!, base: bases.pop()!, pairs }
    }
    if (this.bump + pairs > this.chunkPairs) this.newChunk()
    const base = this.bump * 2
    this.bump += pairs
    return { array: this.chunks[this.chunks.length - 1], base, pairs }
  }

  /**
   * Takes back the region of a ring of `capacity` pairs (as given to allocate).
   * The caller must not touch it afterwards: it may be handed out at once.
   */
  release(array: Float64Array, base: number, capacity: number): void {
    const pairs = this.regionPairs(capacity)
    if (pairs > this.maxPooledPairs) return // its own array: the garbage collector's
    const k = this.classOf[pairs]
    this.freeArrays[k].push(array)
    this.freeBases[k].push(base)
  }

  /** Bytes of the shared chunks (rings above maxPooledPairs are not counted). */
  get byteLength(): number {
    return this.chunks.length * this.chunkPairs * 16
  }

  /** Free regions of the class that holds `capacity` pairs (for tests). */
  freeCount(capacity: number): number {
    return this.freeBases[this.classOf[this.regionPairs(capacity)]].length
  }

  private newChunk(): void {
    // Cut the unused tail into regions of the largest classes that fit, so nothing is lost.
    let at = this.bump
    if (this.chunks.length > 0) {
      const last = this.chunks[this.chunks.length - 1]
      let k = this.classPairs.length - 1
      while (at < this.chunkPairs) {
        while (at + this.classPairs[k] > this.chunkPairs) k--
        const pairs = this.classPairs[k]
        this.freeArrays[k].push(last)
        this.freeBases[k].push(at * 2)
        at += pairs
      }
    }
    this.chunks.push(new Float64Array(new SharedArrayBuffer(this.chunkPairs * 16)))
    this.bump = 0
  }
}

/**
 * Pool for rings constructed without one (tests, tools); a MetricStore owns its
 * own. It lives as long as the process: rings made on it should be released.
 */
export const DEFAULT_RING_POOL = new RingPool()

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0
}

