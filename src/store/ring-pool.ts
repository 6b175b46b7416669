import { F64_COLUMNS, SAMPLE_BYTES } from './sample-layout.js'

/**
 * Storage for SampleRings. A ring of up to `maxPooledSamples` samples gets a region
 * (array, base) carved from a shared chunk rather than a typed array of its own:
 * each typed array costs a malloc'd backing store plus an ArrayBuffer and a view
 * on the heap, which for a sparse id (10 samples = 160 B of data) is more than the
 * data itself. Larger rings get their own array, exactly their capacity.
 *
 *   chunk k (Float64Array over a SharedArrayBuffer of chunkSamples * SAMPLE_BYTES bytes):
 *     [ region 16 samples | region 10 | region 512 | ...     free tail        ]
 *       ^ base = 0        ^ base = 32  ^ base = 52         ^ bump * F64_COLUMNS
 *
 * Invariants
 *   - Size classes are 1, 2, 3, then four per power of two P: P, 1.25P, 1.5P and
 *     1.75P (4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ... maxPooledSamples), as in jemalloc:
 *     a region is at most a fifth slack (powers of two alone waste up to half). A
 *     request is rounded up to its class. A region of class P occupies elements
 *     [base, base + F64_COLUMNS * P) of its chunk (sample-layout.ts);
 *     regions handed out never overlap.
 *   - Only the last chunk has an unused tail, from element F64_COLUMNS * bump. When a request
 *     does not fit in it, the tail is cut into regions of the largest classes that
 *     fit, which go to the free lists, and a new chunk is started.
 *   - A released region goes on its class's free list and is handed out again by
 *     the next request of that class (most recently released first). Released
 *     memory is never returned to the system nor merged across classes: the pool
 *     holds, per class, at most the peak number of regions live at once.
 *   - Regions are not zeroed: a ring only reads the samples it has written.
 */
export const DEFAULT_MAX_POOLED_SAMPLES = 512
/** 64 KiB chunks: 4,096 samples. */
export const DEFAULT_CHUNK_SAMPLES = 4096

export interface RingRegion {
  readonly array: Float64Array
  /** Element index of the region's first slot in `array`. */
  readonly base: number
  /** Samples the region holds: the size class, or the exact capacity when not pooled. */
  readonly samples: number
}

export class RingPool {
  private readonly chunks: Float64Array[] = []
  /** Samples of each size class, ascending. */
  private readonly classSamples: number[] = []
  /** By capacity 1..maxPooledSamples: the index of the smallest class that holds it. */
  private readonly classOf: Uint8Array
  /** Per class index: the arrays and bases of free regions. */
  private readonly freeArrays: Float64Array[][] = []
  private readonly freeBases: number[][] = []
  /** Samples already carved from the last chunk. */
  private bump: number

  constructor(
    readonly maxPooledSamples = DEFAULT_MAX_POOLED_SAMPLES,
    readonly chunkSamples = DEFAULT_CHUNK_SAMPLES,
  ) {
    if (!isPowerOfTwo(maxPooledSamples) || !isPowerOfTwo(chunkSamples) || chunkSamples < maxPooledSamples) {
      throw new RangeError(`maxPooledSamples (${maxPooledSamples}) and chunkSamples (${chunkSamples}) must be powers of two, chunkSamples >= maxPooledSamples`)
    }
    this.classSamples.push(1, 2, 3)
    for (let p = 4; p <= maxPooledSamples; p *= 2) {
      for (const quarters of [4, 5, 6, 7]) if ((p / 4) * quarters <= maxPooledSamples) this.classSamples.push((p / 4) * quarters)
    }
    this.classOf = new Uint8Array(maxPooledSamples + 1)
    for (let capacity = 1, k = 0; capacity <= maxPooledSamples; capacity++) {
      if (this.classSamples[k] < capacity) k++
      this.classOf[capacity] = k
    }
    for (let k = 0; k < this.classSamples.length; k++) {
      this.freeArrays.push([])
      this.freeBases.push([])
    }
    this.bump = chunkSamples
  }

  /** Samples of the region that holds a ring of `capacity` samples. */
  regionSamples(capacity: number): number {
    return capacity > this.maxPooledSamples ? capacity : this.classSamples[this.classOf[capacity]]
  }

  /** The capacity a ring of `capacity` samples grows to: the next class up, or double beyond the pooled sizes. */
  grownCapacity(capacity: number): number {
    return capacity < this.maxPooledSamples ? this.classSamples[this.classOf[capacity + 1]] : capacity * 2
  }

  /** A region of at least `capacity` samples (capacity >= 1). */
  allocate(capacity: number): RingRegion {
    const samples = this.regionSamples(capacity)
    if (samples > this.maxPooledSamples) return { array: new Float64Array(samples * F64_COLUMNS), base: 0, samples }
    const k = this.classOf[samples]
    const bases = this.freeBases[k]
    if (bases.length > 0) {
      return { array: this.freeArrays[k].pop()!, base: bases.pop()!, samples }
    }
    if (this.bump + samples > this.chunkSamples) this.newChunk()
    const base = this.bump * F64_COLUMNS
    this.bump += samples
    return { array: this.chunks[this.chunks.length - 1], base, samples }
  }

  /**
   * Takes back the region of a ring of `capacity` samples (as given to allocate).
   * The caller must not touch it afterwards: it may be handed out at once.
   */
  release(array: Float64Array, base: number, capacity: number): void {
    const samples = this.regionSamples(capacity)
    if (samples > this.maxPooledSamples) return // its own array: the garbage collector's
    const k = this.classOf[samples]
    this.freeArrays[k].push(array)
    this.freeBases[k].push(base)
  }

  /** Bytes of the shared chunks (rings above maxPooledSamples are not counted). */
  get byteLength(): number {
    return this.chunks.length * this.chunkSamples * SAMPLE_BYTES
  }

  /** Free regions of the class that holds `capacity` samples (for tests). */
  freeCount(capacity: number): number {
    return this.freeBases[this.classOf[this.regionSamples(capacity)]].length
  }

  private newChunk(): void {
    // Cut the unused tail into regions of the largest classes that fit, so nothing is lost.
    let at = this.bump
    if (this.chunks.length > 0) {
      const last = this.chunks[this.chunks.length - 1]
      let k = this.classSamples.length - 1
      while (at < this.chunkSamples) {
        while (at + this.classSamples[k] > this.chunkSamples) k--
        const samples = this.classSamples[k]
        this.freeArrays[k].push(last)
        this.freeBases[k].push(at * F64_COLUMNS)
        at += samples
      }
    }
    this.chunks.push(new Float64Array(new SharedArrayBuffer(this.chunkSamples * SAMPLE_BYTES)))
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
