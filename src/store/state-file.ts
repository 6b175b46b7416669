import { createHash } from 'node:crypto'
import { open, readFile, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { JOB_EVENTS, type JobEvent, type MetricStore, type SavedCounters } from './metric-store.js'

/**
 * Persistence of every metric to one file, written atomically (temporary file in
 * the same folder, fsync, rename, fsync of the folder) so a crash leaves either
 * the previous file or the new one, never a torn mix.
 *
 * Layout (little-endian):
 *
 *   "LTSTATE1" | u32 header bytes H | header JSON (H bytes) | pad to 8
 *   | per metric, in header order: n values (f64) then n ages in ms (f64)
 *   | SHA-256 of everything before it (32 bytes)
 *
 * Samples are stored with their age at save time, plus the wall-clock time of
 * the save, so that on load each sample is as old as it really is: the
 * monotonic clock of one process means nothing to the next, and the downtime
 * between them counts toward the window.
 */
const MAGIC = Buffer.from('LTSTATE1', 'latin1')
const DIGEST_BYTES = 32

interface Header {
  savedAtWallMs: number
  bucketBoundsNs: number[]
  metrics: Array<SavedCounters & { id: string; samples: number; idleMs: number }>
}

export interface LoadSummary {
  metrics: number
  samples: number
  /** Saved ids left out because MAX_METRICS was reached. */
  skipped: number
}

/** Error for a file that exists but cannot be trusted. */
export class CorruptStateError extends Error {
  override name = 'CorruptStateError'
}

/** Serializes the store; yields to the event loop between metrics via `pause` when given. */
export async function encodeState(store: MetricStore, wallNowMs: number, pause?: () => Promise<void>): Promise<Buffer> {
  const now = store.now()
  const metrics = store.sorted()
  const header: Header = {
    savedAtWallMs: wallNowMs,
    bucketBoundsNs: Array.from(store.bucketBoundsNs),
    metrics: metrics.map((m) => ({
      id: m.id,
      samples: m.ring.size,
      idleMs: Math.max(0, now - m.lastWriteAt),
      total: m.total,
      sumNs: m.sumNs,
      jobs: Object.fromEntries(JOB_EVENTS.map((e) => [e, m.jobCount(e)])) as Record<JobEvent, number>,
      buckets: Array.from({ length: m.histogramBucketCount }, (_, i) => m.bucketCount(i)),
    })),
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const samplesAt = align8(MAGIC.length + 4 + json.length)
  const sampleBytes = header.metrics.reduce((sum, m) => sum + m.samples * 16, 0)
  const out = Buffer.alloc(samplesAt + sampleBytes + DIGEST_BYTES)
  MAGIC.copy(out, 0)
  out.writeUInt32LE(json.length, MAGIC.length)
  json.copy(out, MAGIC.length + 4)
  let offset = samplesAt
  for (let i = 0; i < metrics.length; i++) {
    const n = header.metrics[i].samples
    let k = 0
    metrics[i].ring.forEach((value, time) => {
      // The header fixed n before the pauses; samples recorded during one (the
      // newest) go in the next save rather than over this metric's ages.
      if (k === n) return
      out.writeDoubleLE(value, offset + k * 8)
      out.writeDoubleLE(Math.max(0, now - time), offset + (n + k) * 8)
      k++
    })
    offset += n * 16
    if (pause !== undefined && i % 64 === 63) await pause()
  }
  createHash('sha256').update(out.subarray(0, offset)).digest().copy(out, offset)
  return out
}

/**
 * Loads a saved state into an empty store. Samples that have aged out of the
 * window by now are dropped; ids beyond MAX_METRICS are skipped (and counted).
 * Throws CorruptStateError when the file is not a whole, intact state.
 */
export function decodeState(store: MetricStore, data: Buffer, wallNowMs: number): LoadSummary {
  if (data.length < MAGIC.length + 4 + DIGEST_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CorruptStateError('not a latency-tracker state file (bad magic or too short)')
  }
  const body = data.subarray(0, data.length - DIGEST_BYTES)
  const digest = createHash('sha256').update(body).digest()
  if (!digest.equals(data.subarray(data.length - DIGEST_BYTES))) {
    throw new CorruptStateError('checksum mismatch: the file is truncated or damaged')
  }
  const jsonLength = data.readUInt32LE(MAGIC.length)
  let header: Header
  try {
    header = JSON.parse(data.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + jsonLength)) as Header
  } catch (err) {
    throw new CorruptStateError(`unreadable header: ${(err as Error).message}`)
  }
  const sameBuckets =
    header.bucketBoundsNs.length === store.bucketBoundsNs.length &&
    header.bucketBoundsNs.every((b, i) => b === store.bucketBoundsNs[i])
  const downtime = Math.max(0, wallNowMs - header.savedAtWallMs)
  const now = store.now()
  let offset = align8(MAGIC.length + 4 + jsonLength)
  let metrics = 0
  let samples = 0
  let skipped = 0
  for (const saved of header.metrics) {
    const n = saved.samples
    const metric = store.acquire(saved.id)
    if (metric === undefined) {
      skipped++
    } else {
      // Histogram buckets only carry over when the bounds are the same.
      metric.restoreCounters(sameBuckets ? saved : { ...saved, buckets: undefined })
      // Idle time carries over, so restarts more frequent than IDLE_TTL_MS do not keep idle ids alive.
      metric.lastWriteAt = now - (saved.idleMs + downtime)
      for (let k = 0; k < n; k++) {
        const age = data.readDoubleLE(offset + (n + k) * 8) + downtime
        if (age < store.windowMs) {
          metric.ring.push(data.readDoubleLE(offset + k * 8), now - age)
          samples++
        }
      }
      metrics++
    }
    offset += n * 16
  }
  if (offset !== body.length) throw new CorruptStateError('sample section length does not match the header')
  return { metrics, samples, skipped }
}

/** Writes the state atomically: temporary file, fsync, rename, fsync of the folder. */
export async function writeStateFile(path: string, data: Buffer): Promise<void> {
  const tmp = join(dirname(path), `${tempPrefix(path)}${process.pid}`)
  const file = await open(tmp, 'w', 0o600)
  try {
    await file.writeFile(data)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`
}

/** Removes temporary files left by a process killed mid-write; they never hold the only copy. */
export async function removeStaleTempFiles(path: string): Promise<void> {
  const dir = dirname(path)
  const prefix = tempPrefix(path)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dir, n), { force: true })))
}

/** Reads the state file; undefined when there is none (a clean start). */
export async function readStateFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function align8(n: number): number {
  return (n + 7) & ~7
}
