import { createHash } from 'node:crypto'
import type { Stats } from 'node:fs'
import { type FileHandle, lstat, open, readdir, readlink, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { JOB_EVENTS, type JobEvent, type SavedCounters } from './metric.js'
import type { MetricStore } from './metric-store.js'
import { NO_STATUS, SAMPLE_BYTES, STATUS_BYTES } from './sample-layout.js'

/**
 * Persistence of every metric to one file, written atomically (temporary file in
 * the same folder, fsync, rename, fsync of the folder) so a crash leaves either
 * the previous file or the new one, never a torn mix.
 *
 * Layout (little-endian):
 *
 *   "LTSTATE2" | u32 header bytes H | header JSON (H bytes) | pad to 8 (zeros)
 *   | per metric, in header order: n values (f64), n ages in ms (f64), and when
 *     its header entry has `statusColumn`, n statuses (u16, NO_STATUS for none)
 *     padded to 8 bytes; n being that metric's `samples` in the header
 *   | SHA-256 of everything before it (32 bytes)
 *
 * Files of the first version ("LTSTATE1": no status column, no status totals)
 * load as they are: their samples have no status.
 *
 * The header comes first in the file but is built last: encodeStateParts reads
 * each metric (header entry and samples together) as it goes, then puts the
 * header in front of the samples it has gathered.
 *
 * Samples are stored with their age at save time, plus the wall-clock time of
 * the save, so that on load each sample is as old as it really is: the
 * monotonic clock of one process means nothing to the next, and the downtime
 * between them counts toward the window.
 */
const MAGIC = Buffer.from('LTSTATE2', 'latin1')
/** The first version: the same layout without status columns. */
const MAGIC_V1 = Buffer.from('LTSTATE1', 'latin1')
/** What every version's magic begins with: a file that does not is not one the service wrote. */
const MAGIC_PREFIX = Buffer.from('LTSTATE', 'latin1')
const DIGEST_BYTES = 32

interface Header {
  savedAtWallMs: number
  bucketBoundsNs: number[]
  metrics: Array<SavedCounters & { id: string; samples: number; idleMs: number; statusColumn?: boolean }>
}

/** Bytes of a metric's samples in the file. */
function sampleSectionBytes(n: number, statusColumn: boolean): number {
  return n * SAMPLE_BYTES + (statusColumn ? align8(n * STATUS_BYTES) : 0)
}

export interface LoadSummary {
  metrics: number
  samples: number
  /** Saved ids left out because MAX_METRICS was reached. */
  skipped: number
  /**
   * Loaded ids whose histogram starts again from zero (bucket counts and _sum
   * together) because it was counted over other bucket bounds; absent when none.
   */
  histogramRestarted?: number
}

/** Error for a file that exists but cannot be trusted. */
export class CorruptStateError extends Error {
  override name = 'CorruptStateError'
}

type SavedMetric = Header['metrics'][number]

/** Sample bytes are gathered in blocks of this size (or one metric's size, if larger). */
const SAMPLE_BLOCK_BYTES = 1 << 20

/**
 * Serializes the store; yields to the event loop every 64 metrics via `pause`
 * when given. The result is the file as a few parts (prefix with the header,
 * sample blocks, digest) so that a large store is not copied once more into a
 * single buffer; see encodeState for one Buffer.
 *
 * A metric's header entry and its samples are read in one synchronous step, so
 * they always agree, whatever requests do during the pauses: a metric deleted
 * (or deleted and created again) before its turn is left out of the file, as its
 * ring region and counters may already belong to another metric; samples and
 * counts recorded before its turn are in; metrics created during the save wait
 * for the next one.
 */
export async function encodeStateParts(store: MetricStore, wallNowMs: number, pause?: () => Promise<void>): Promise<Buffer[]> {
  const now = store.now()
  const metrics = store.sorted()
  const saved: SavedMetric[] = []
  const blocks: Buffer[] = []
  let block = Buffer.alloc(0)
  let used = 0
  for (let i = 0; i < metrics.length; i++) {
    const m = metrics[i]
    if (store.get(m.id) === m) {
      store.settle(m)
      const n = m.size
      const statusColumn = m.hasStatuses
      const statusTotals = m.statusCounts()
      saved.push({
        id: m.id,
        samples: n,
        idleMs: Math.max(0, now - m.lastWriteAt),
        total: m.total,
        sumNs: m.sumNs,
        ...(m.histogramSumNs !== m.sumNs ? { histogramSumNs: m.histogramSumNs } : {}),
        jobs: Object.fromEntries(JOB_EVENTS.map((e) => [e, m.jobCount(e)])) as Record<JobEvent, number>,
        buckets: Array.from({ length: m.histogramBucketCount }, (_, b) => m.bucketCount(b)),
        ...(statusTotals.length > 0 ? { statuses: Object.fromEntries(statusTotals) } : {}),
        ...(statusColumn ? { statusColumn } : {}),
      })
      const bytes = sampleSectionBytes(n, statusColumn)
      if (used + bytes > block.length) {
        if (used > 0) blocks.push(block.subarray(0, used))
        block = Buffer.allocUnsafe(Math.max(SAMPLE_BLOCK_BYTES, bytes))
        used = 0
      }
      // n values, then their n ages (samples recorded during a pause have age 0),
      // then their statuses; the block is zero-filled to the padding.
      const values = used
      const ages = used + n * 8
      const statuses = used + n * SAMPLE_BYTES
      let k = 0
      const out = block
      if (statusColumn) out.fill(0, statuses, used + bytes)
      m.forEach((value, time, status) => {
        out.writeDoubleLE(value, values + k * 8)
        out.writeDoubleLE(Math.max(0, now - time), ages + k * 8)
        if (statusColumn) out.writeUInt16LE(status, statuses + k * STATUS_BYTES)
        k++
      })
      used += bytes
    }
    if (pause !== undefined && i % 64 === 63) await pause()
  }
  if (used > 0) blocks.push(block.subarray(0, used))

  const header: Header = { savedAtWallMs: wallNowMs, bucketBoundsNs: Array.from(store.bucketBoundsNs), metrics: saved }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const prefix = Buffer.alloc(align8(MAGIC.length + 4 + json.length))
  MAGIC.copy(prefix, 0)
  prefix.writeUInt32LE(json.length, MAGIC.length)
  json.copy(prefix, MAGIC.length + 4)
  const hash = createHash('sha256').update(prefix)
  for (const b of blocks) hash.update(b)
  return [prefix, ...blocks, hash.digest()]
}

/** encodeStateParts as one Buffer (tests, tools). */
export async function encodeState(store: MetricStore, wallNowMs: number, pause?: () => Promise<void>): Promise<Buffer> {
  return Buffer.concat(await encodeStateParts(store, wallNowMs, pause))
}

/**
 * Loads a saved state into an empty store. Samples that have aged out of the
 * window by now are dropped; ids beyond MAX_METRICS are skipped (and counted).
 * Throws CorruptStateError when the file is not a whole, intact state.
 */
export function decodeState(store: MetricStore, data: Buffer, wallNowMs: number): LoadSummary {
  const magic = data.subarray(0, MAGIC.length)
  if (data.length < MAGIC.length + 4 + DIGEST_BYTES || !(magic.equals(MAGIC) || magic.equals(MAGIC_V1))) {
    throw new CorruptStateError('too short, or of a version this release does not read (bad magic)')
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
  const sameBuckets = header.bucketBoundsNs.length === store.bucketBoundsNs.length && header.bucketBoundsNs.every((b, i) => b === store.bucketBoundsNs[i])
  const downtime = Math.max(0, wallNowMs - header.savedAtWallMs)
  const now = store.now()
  let offset = align8(MAGIC.length + 4 + jsonLength)
  let metrics = 0
  let samples = 0
  let skipped = 0
  let histogramRestarted = 0
  for (const saved of header.metrics) {
    const n = saved.samples
    const statusColumn = saved.statusColumn === true
    const bytes = sampleSectionBytes(n, statusColumn)
    if (offset + bytes > body.length) throw new CorruptStateError('sample section is shorter than the header says')
    const at = offset
    // The histogram (counts and sum) carries over only when it was counted over the same bounds.
    const keepHistogram = sameBuckets && histogramIsWhole(saved)
    const counters = keepHistogram ? saved : { ...saved, buckets: undefined, histogramSumNs: undefined }
    // Idle time carries over, so restarts more frequent than IDLE_TTL_MS do not keep idle ids alive.
    const lastWriteAt = now - (saved.idleMs + downtime)
    const metric = store.restore(saved.id, counters, lastWriteAt, savedSamples(data, at, n, statusColumn, downtime, now, store.windowMs))
    if (metric === undefined) skipped++
    else {
      metrics++
      samples += metric.size
      if (!keepHistogram) histogramRestarted++
    }
    offset += bytes
  }
  if (offset !== body.length) throw new CorruptStateError('sample section length does not match the header')
  return { metrics, samples, skipped, ...(histogramRestarted > 0 ? { histogramRestarted } : {}) }
}

/**
 * Whether a saved histogram's sum is known: it is sumNs when every sample is in a
 * bucket, or saved on its own. Files of earlier releases loaded after a change of
 * bounds kept the old sum with restarted counts, and saved neither.
 */
function histogramIsWhole(saved: SavedMetric): boolean {
  if (saved.histogramSumNs !== undefined) return true
  let bucketed = 0
  for (const count of saved.buckets ?? []) bucketed += count
  return bucketed === saved.total
}

/**
 * A metric's saved samples, oldest first, with their times on this process's
 * clock; those that aged out of the window during the downtime are left out.
 */
function* savedSamples(
  data: Buffer,
  at: number,
  n: number,
  statusColumn: boolean,
  downtime: number,
  now: number,
  windowMs: number,
): Generator<[number, number, number]> {
  for (let k = 0; k < n; k++) {
    const age = data.readDoubleLE(at + (n + k) * 8) + downtime
    if (age < windowMs) {
      const status = statusColumn ? data.readUInt16LE(at + n * SAMPLE_BYTES + k * STATUS_BYTES) : NO_STATUS
      yield [data.readDoubleLE(at + k * 8), now - age, status]
    }
  }
}

/** Writes the state (one buffer or parts, in order) atomically: temporary file, fsync, rename, fsync of the folder. */
export async function writeStateFile(path: string, data: Buffer | readonly Buffer[]): Promise<void> {
  const tmp = tempPath(path)
  await removeOwnTempFile(tmp)
  // Created exclusively (O_CREAT|O_EXCL): its name is predictable, and anything
  // already there, a symbolic link above all, must fail the save rather than be
  // written through and then renamed over the state file.
  const file = await open(tmp, 'wx', 0o600)
  try {
    try {
      await writeAll(file, Buffer.isBuffer(data) ? [data] : data)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    // A partial copy would only take space (a full disk is a common cause). If it
    // cannot go now, the next save removes it (removeOwnTempFile).
    await rm(tmp, { force: true }).catch(() => undefined)
    throw err
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** writev until every byte is written (a writev may write less than asked). */
async function writeAll(file: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let pending = parts.filter((p) => p.length > 0)
  while (pending.length > 0) {
    const batch = pending.slice(0, 1024) // IOV_MAX
    let { bytesWritten } = await file.writev(batch)
    let done = 0
    while (done < batch.length && bytesWritten >= batch[done].length) bytesWritten -= batch[done++].length
    pending = pending.slice(done)
    if (bytesWritten > 0) pending[0] = pending[0].subarray(bytesWritten)
  }
}

/**
 * Makes way for a save's temporary file. A regular file at its name is one a
 * failed save of this process could not remove (a file system remounted
 * read-only during the save, say): names of that shape are the service's, as
 * removeStaleTempFiles has it, and left there it would fail every later save.
 * Anything else at the name (a symbolic link above all) stays, and the
 * exclusive create fails on it.
 */
async function removeOwnTempFile(tmp: string): Promise<void> {
  try {
    if ((await lstat(tmp)).isFile()) await rm(tmp)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`
}

/** The temporary file of a save, `.<name>.tmp-<pid>`, or with `-probe` after it that of checkStateFolder. */
function tempPath(path: string, probe = false): string {
  return join(dirname(path), `${tempPrefix(path)}${process.pid}${probe ? '-probe' : ''}`)
}

/** What follows tempPrefix in the names tempPath makes, and in no other. */
const TEMP_SUFFIX = /^[0-9]+(?:-probe)?$/

/**
 * Removes temporary files left by a process killed mid-write; they never hold
 * the only copy. Only regular files with the names tempPath makes go: a file
 * of someone else's that merely begins like them (`.s.bin.tmp-backup`) stays.
 */
export async function removeStaleTempFiles(path: string): Promise<void> {
  const dir = dirname(path)
  const prefix = tempPrefix(path)
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return
  }
  const stale = entries.filter((e) => e.isFile() && e.name.startsWith(prefix) && TEMP_SUFFIX.test(e.name.slice(prefix.length)))
  await Promise.all(stale.map((e) => rm(join(dir, e.name), { force: true })))
}

/** A path the state cannot be kept at: not a regular file, or in a folder that is missing or not writable. */
export class UnusableStatePathError extends Error {
  override name = 'UnusableStatePathError'
}

/** Symbolic links followed before giving up, as the kernel's own limit (ELOOP). */
const MAX_SYMLINK_HOPS = 40

/**
 * Where the state is kept: `path`, or the file its symbolic links lead to (a link
 * is followed, never replaced, so a save lands on its target). Throws
 * UnusableStatePathError when that is something other than a regular file or
 * nothing yet (a directory, a device, a FIFO, a socket): the service moves,
 * renames or overwrites nothing but a regular file.
 */
export async function resolveStatePath(path: string): Promise<string> {
  let target = path
  for (let hops = 0; ; hops++) {
    let info: Stats
    try {
      info = await lstat(target)
    } catch (err) {
      // Nothing there yet (or no folder: checkStateFolder says which).
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return target
      throw new UnusableStatePathError(`${describePath(path, target)} cannot be examined: ${(err as Error).message}`)
    }
    if (info.isFile()) return target
    if (!info.isSymbolicLink()) {
      throw new UnusableStatePathError(
        `${describePath(path, target)} is ${kindOf(info)}: it must name a regular file, or nothing yet (the service never moves or replaces anything else)`,
      )
    }
    if (hops === MAX_SYMLINK_HOPS) throw new UnusableStatePathError(`${path}: too many levels of symbolic links`)
    target = resolve(dirname(target), await readlink(target))
  }
}

/**
 * Checks that the folder of the state file exists and takes new files, by
 * creating and removing a temporary file there as every save does. Throws
 * UnusableStatePathError otherwise, so that a state that could never be saved
 * stops the start instead of being lost at shutdown.
 */
export async function checkStateFolder(path: string): Promise<void> {
  const dir = dirname(path)
  const probe = tempPath(path, true)
  try {
    // Exclusively, as a save creates its temporary file: never through a link planted at this name.
    await (await open(probe, 'wx', 0o600)).close()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? `its folder ${dir} does not exist`
        : code === 'ENOTDIR'
          ? `${dir} is not a folder`
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? `its folder ${dir} is not writable (${code})`
            : code === 'EEXIST'
              ? // removeStaleTempFiles, just before, took any regular file of ours from there.
                `${probe} already exists and is not a file of this service: move it away`
              : `a file cannot be created in its folder ${dir}: ${(err as Error).message}`
    throw new UnusableStatePathError(`${path}: ${why}`)
  }
  await rm(probe, { force: true })
}

function describePath(path: string, target: string): string {
  return target === path ? path : `${path} (a symbolic link to ${target})`
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a directory'
  if (info.isFIFO()) return 'a FIFO'
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device'
  if (info.isSocket()) return 'a socket'
  return 'not a regular file'
}

/**
 * Reads the state file; undefined when there is none (a clean start). Throws
 * UnusableStatePathError, and leaves the file as it is, unless it is one the
 * service wrote: it must begin with MAGIC_PREFIX (an empty file, a shorter one,
 * text or another program's data do not), and not be of a later version (a
 * downgrade: the file is fine, for the release that wrote it). That is checked
 * on the first bytes, so another program's file is not read whole. A file that begins with the
 * magic but cannot be read to its end is the service's own, damaged: the error
 * is the reader's.
 */
export async function readStateFile(path: string): Promise<Buffer | undefined> {
  let file: FileHandle | undefined
  try {
    let head: Buffer
    try {
      file = await open(path, 'r')
      // At position 0, which leaves the file's own position at its start for readFile.
      const { buffer, bytesRead } = await file.read(Buffer.alloc(MAGIC.length), 0, MAGIC.length, 0)
      head = buffer.subarray(0, bytesRead)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      // Not known to be the service's before its first bytes are read.
      throw new UnusableStatePathError(
        `${path} cannot be read (${(err as Error).message}): it was left as it is; make it readable, move it away or choose another path`,
      )
    }
    if (!head.subarray(0, MAGIC_PREFIX.length).equals(MAGIC_PREFIX)) {
      throw new UnusableStatePathError(
        `${path} is not a latency-tracker state file (it does not begin with ${MAGIC_PREFIX.toString('latin1')}): it was left as it is; move it away or choose another path`,
      )
    }
    // A release after this one wrote it (a downgrade): not damaged, only not readable here.
    const version = head[MAGIC_PREFIX.length]
    if (version > MAGIC[MAGIC_PREFIX.length] && version <= 0x39 /* 9 */) {
      throw new UnusableStatePathError(
        `${path} was written by a newer release of latency-tracker (${head.toString('latin1')}; this one reads ${MAGIC_V1.toString('latin1')} and ${MAGIC.toString('latin1')}): it was left as it is; run the release that wrote it, or move it away`,
      )
    }
    return await file.readFile()
  } finally {
    await file?.close()
  }
}

function align8(n: number): number {
  return (n + 7) & ~7
}
