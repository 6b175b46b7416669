import { rename } from 'node:fs/promises'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { MetricStore } from './metric-store.js'
import {
  type LoadSummary,
  UnusableStatePathError,
  checkStateFolder,
  decodeState,
  encodeStateParts,
  readStateFile,
  removeStaleTempFiles,
  resolveStatePath,
  writeStateFile,
} from './state-file.js'

export interface PersistenceLog {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** How saving goes, for the service block, Prometheus and /healthz. */
export class StateSaveStatus {
  /** Saves that failed since the process started. */
  failures = 0
  /** Saves that failed since the last one that succeeded. */
  failuresInARow = 0
  /** Wall-clock time (Unix ms) of the last save that succeeded; undefined before the first. */
  savedAtMs: number | undefined = undefined

  /** The last save failed. */
  get failing(): boolean {
    return this.failuresInARow > 0
  }
}

/** The final save, on shutdown, failed: what the run recorded since its last good save is lost. */
export class FinalSaveError extends Error {
  override name = 'FinalSaveError'
}

/** A save that keeps failing is logged at its first failure and every this many after. */
const LOG_EVERY_FAILURES = 100

/**
 * Saves the store to STATE_FILE every interval and on shutdown, and loads it on
 * start. At start the path must be a regular file or nothing yet (a symbolic
 * link is followed to its target), in a folder that takes new files; otherwise
 * load() throws UnusableStatePathError. A file of the service's format
 * (readStateFile checks that it begins with LTSTATE) that is damaged is moved
 * aside as `<file>.corrupt-<timestamp>` and the service starts empty; any other
 * regular file, one that cannot be read, or one of a later release makes load()
 * throw UnusableStatePathError and is left as it is; if a damaged file cannot
 * be moved, load() throws too rather than overwrite the only copy. A save that fails while running leaves the previous file as it was and
 * is counted in `status`; the service goes on.
 */
export class StatePersistence {
  private timer: NodeJS.Timeout | undefined
  private saving: Promise<Error | undefined> | undefined
  /** The file written: `path`, or the target of its symbolic links once load() has resolved them. */
  private file: string

  constructor(
    private readonly store: MetricStore,
    readonly path: string,
    private readonly intervalMs: number,
    private readonly log: PersistenceLog,
    private readonly wallNow: () => number = Date.now,
    readonly status: StateSaveStatus = new StateSaveStatus(),
  ) {
    this.file = path
  }

  /**
   * Checks the path and loads the file into the (empty) store. Throws
   * UnusableStatePathError for a path the state cannot be kept at or a file that
   * is not the service's; a missing file, or a damaged one of the service's
   * format, means an empty start.
   */
  async load(): Promise<LoadSummary | undefined> {
    this.file = await resolveStatePath(this.path)
    await removeStaleTempFiles(this.file)
    await checkStateFolder(this.file)
    let data: Buffer | undefined
    try {
      data = await readStateFile(this.file)
    } catch (err) {
      if (err instanceof UnusableStatePathError) throw err
      await this.setAside(err as Error)
      return undefined
    }
    if (data === undefined) {
      this.log.info({ stateFile: this.path }, 'no state file yet: starting empty')
      return undefined
    }
    let summary: LoadSummary
    try {
      summary = decodeState(this.store, data, this.wallNow())
    } catch (err) {
      this.store.clear()
      await this.setAside(err as Error)
      return undefined
    }
    this.log.info({ stateFile: this.path, ...summary }, 'state loaded')
    if (summary.histogramRestarted !== undefined) {
      this.log.warn(
        { stateFile: this.path, ids: summary.histogramRestarted },
        'the state file counted histograms over other bucket bounds than HISTOGRAM_BUCKETS: each histogram (bucket counts and _sum) starts again from zero; totals, sums, samples and job counters carry over',
      )
    }
    return summary
  }

  /**
   * Saves intervalMs after the previous save ended; the timer never keeps the
   * process alive. Counted from the end, not on a fixed beat: a save that takes
   * longer than the interval (a large store, a slow disk) would otherwise have
   * the next ones queue behind it without bound, and stop() wait behind them all.
   */
  start(): void {
    this.timer = setTimeout(() => {
      void this.saveNow().then(() => {
        if (this.timer !== undefined) this.start()
      })
    }, this.intervalMs)
    this.timer.unref()
  }

  /** Saves now; a save already running is waited for rather than overlapped. A failure is logged and counted in `status`. */
  async save(): Promise<void> {
    await this.saveNow()
  }

  /** Stops the timer and writes a final save; throws FinalSaveError if it fails. */
  async stop(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const failure = await this.saveNow()
    if (failure === undefined) return
    const since = this.status.savedAtMs === undefined ? 'since it started' : `since ${new Date(this.status.savedAtMs).toISOString()}`
    throw new FinalSaveError(
      `the final save of the state file ${this.path} failed (${failure.message}): what was recorded ${since} is lost; the previous file is left as it was`,
      { cause: failure },
    )
  }

  /** save(), resolving to the error of a failed save. */
  private async saveNow(): Promise<Error | undefined> {
    while (this.saving !== undefined) await this.saving
    this.saving = this.write().finally(() => {
      this.saving = undefined
    })
    return this.saving
  }

  private async write(): Promise<Error | undefined> {
    const status = this.status
    try {
      const data = await encodeStateParts(this.store, this.wallNow(), () => yieldToEventLoop())
      await writeStateFile(this.file, data)
    } catch (err) {
      status.failures++
      status.failuresInARow++
      if (status.failuresInARow % LOG_EVERY_FAILURES === 1) {
        this.log.error(
          { err, stateFile: this.path, failuresInARow: status.failuresInARow },
          `saving state failed; the previous file is left as it was and the service keeps serving (logged again every ${LOG_EVERY_FAILURES} failures in a row)`,
        )
      }
      return err as Error
    }
    if (status.failing) this.log.info({ stateFile: this.path, failuresInARow: status.failuresInARow }, 'saving state works again')
    status.failuresInARow = 0
    status.savedAtMs = this.wallNow()
    return undefined
  }

  private async setAside(reason: Error): Promise<void> {
    const aside = `${this.file}.corrupt-${new Date(this.wallNow()).toISOString().replace(/[:.]/g, '-')}`
    try {
      await rename(this.file, aside)
    } catch (err) {
      throw new UnusableStatePathError(
        `${this.path} cannot be used (${reason.message}) nor moved aside (${(err as Error).message}): move it away or choose another path`,
      )
    }
    this.log.error({ err: reason, stateFile: this.path, movedTo: aside }, 'state file unreadable: moved aside, starting empty')
  }
}
