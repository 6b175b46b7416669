import { rename } from 'node:fs/promises'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { MetricStore } from './metric-store.js'
import {
  type LoadSummary,
  decodeState,
  encodeStateParts,
  readStateFile,
  removeStaleTempFiles,
  writeStateFile,
} from './state-file.js'

export interface PersistenceLog {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/**
 * Saves the store to STATE_FILE every interval and on shutdown, and loads it on
 * start. A file that cannot be read or trusted is moved aside as
 * `<file>.corrupt-<timestamp>` and the service starts empty; if it cannot be
 * moved, saving is disabled rather than overwrite the only copy.
 */
export class StatePersistence {
  private timer: NodeJS.Timeout | undefined
  private saving: Promise<void> | undefined
  private disabled = false

  constructor(
    private readonly store: MetricStore,
    readonly path: string,
    private readonly intervalMs: number,
    private readonly log: PersistenceLog,
    private readonly wallNow: () => number = Date.now,
  ) {}

  /** Loads the file into the (empty) store. Never throws: a bad file means an empty start. */
  async load(): Promise<LoadSummary | undefined> {
    await removeStaleTempFiles(this.path)
    let data: Buffer | undefined
    try {
      data = await readStateFile(this.path)
    } catch (err) {
      await this.setAside(err as Error)
      return undefined
    }
    if (data === undefined) {
      this.log.info({ stateFile: this.path }, 'no state file yet: starting empty')
      return undefined
    }
    try {
      const summary = decodeState(this.store, data, this.wallNow())
      this.log.info({ stateFile: this.path, ...summary }, 'state loaded')
      return summary
    } catch (err) {
      this.store.clear()
      await this.setAside(err as Error)
      return undefined
    }
  }

  /** Saves every intervalMs; the timer never keeps the process alive. */
  start(): void {
    this.timer = setInterval(() => void this.save(), this.intervalMs)
    this.timer.unref()
  }

  /** Saves now; a save already running is waited for rather than overlapped. */
  async save(): Promise<void> {
    if (this.disabled) return
    while (this.saving !== undefined) await this.saving
    this.saving = this.write().finally(() => {
      this.saving = undefined
    })
    return this.saving
  }

  /** Stops the timer and writes a final save. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.save()
  }

  private async write(): Promise<void> {
    try {
      const data = await encodeStateParts(this.store, this.wallNow(), () => yieldToEventLoop())
      await writeStateFile(this.path, data)
    } catch (err) {
      this.log.error({ err, stateFile: this.path }, 'saving state failed; the previous file is left as it was')
    }
  }

  private async setAside(reason: Error): Promise<void> {
    const aside = `${this.path}.corrupt-${new Date(this.wallNow()).toISOString().replace(/[:.]/g, '-')}`
    try {
      await rename(this.path, aside)
      this.log.error({ err: reason, stateFile: this.path, movedTo: aside }, 'state file unreadable: moved aside, starting empty')
    } catch (err) {
      this.disabled = true
      this.log.error(
        { err: reason, renameError: (err as Error).message, stateFile: this.path },
        'state file unreadable and could not be moved aside: starting empty with saving disabled, so it is not overwritten',
      )
    }
  }
}
