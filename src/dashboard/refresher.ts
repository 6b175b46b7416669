// The refresh loop: every N ms (2 s by default, or off), never two at once, paused
// while the tab is hidden, with the last refresh and any failure shown in the header.
import { ApiError } from './api.js'
import { formatClock } from './format.js'

export const REFRESH_CHOICES_MS = [0, 1000, 2000, 5000, 10_000, 30_000]
export const DEFAULT_REFRESH_MS = 2000
const REFRESH_KEY = 'latency-tracker.refresh-ms'

/** The refresh period kept from the last visit in this browser, or the default. */
export function savedRefreshMs(): number {
  const saved = Number(localStorage.getItem(REFRESH_KEY))
  return REFRESH_CHOICES_MS.includes(saved) && localStorage.getItem(REFRESH_KEY) !== null ? saved : DEFAULT_REFRESH_MS
}

export class Refresher {
  #everyMs: number
  #timer: number | undefined
  #running = false
  #again = false
  #lastOk: Date | null = null
  /** How long the service asked to be left alone when the last refresh failed (Retry-After); 0 when it did not. */
  #retryAfterMs = 0

  /** `run` fetches and draws the current view; `status` is where the outcome is written (data-state: ok, failed, paused). */
  constructor(
    private readonly run: () => Promise<void>,
    private readonly status: HTMLElement,
    everyMs: number,
  ) {
    this.#everyMs = everyMs
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.#cancel()
      else this.now()
    })
  }

  get everyMs(): number {
    return this.#everyMs
  }

  setEvery(ms: number): void {
    this.#everyMs = ms
    localStorage.setItem(REFRESH_KEY, String(ms))
    this.#cancel()
    this.#schedule()
    if (ms === 0 && !this.#running) this.#show('paused', `${this.#updatedText()} Automatic refresh is off.`)
  }

  /** Refreshes now (or right after the refresh in progress), then keeps the period. */
  now(): void {
    this.#cancel()
    if (this.#running) {
      this.#again = true
      return
    }
    void this.#tick()
  }

  async #tick(): Promise<void> {
    this.#running = true
    try {
      await this.run()
      this.#lastOk = new Date()
      this.#retryAfterMs = 0
      document.body.classList.remove('stale')
      this.#show('ok', this.#everyMs === 0 ? `${this.#updatedText()} Automatic refresh is off.` : this.#updatedText())
    } catch (err) {
      document.body.classList.add('stale')
      const reason = err instanceof ApiError ? err.message : String(err)
      const since = this.#lastOk === null ? 'No data yet.' : `Data shown is from ${formatClock(this.#lastOk)}.`
      this.#retryAfterMs = err instanceof ApiError ? (err.retryAfterMs ?? 0) : 0
      const wait = this.#everyMs !== 0 && this.#retryAfterMs > this.#everyMs ? ` Next refresh in ${this.#retryAfterMs / 1000} s, as the service asked.` : ''
      this.#show('failed', `Refresh failed at ${formatClock(new Date())}: ${reason}. ${since}${wait}`)
    } finally {
      this.#running = false
    }
    if (this.#again) {
      this.#again = false
      void this.#tick()
    } else {
      this.#schedule()
    }
  }

  #schedule(): void {
    if (this.#everyMs === 0 || document.hidden || this.#running || this.#timer !== undefined) return
    const delayMs = Math.max(this.#everyMs, this.#retryAfterMs)
    this.#timer = window.setTimeout(() => {
      this.#timer = undefined
      void this.#tick()
    }, delayMs)
  }

  #cancel(): void {
    if (this.#timer !== undefined) window.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #updatedText(): string {
    return this.#lastOk === null ? 'Not updated yet.' : `Updated ${formatClock(this.#lastOk)}.`
  }

  #show(state: 'ok' | 'failed' | 'paused', text: string): void {
    this.status.dataset.state = state
    this.status.textContent = text
  }
}
