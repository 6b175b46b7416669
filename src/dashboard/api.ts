// The public JSON API as the page reads it: the same routes and query parameters as any client.

export interface JobCounts {
  created: number
  started: number
  completed: number
  failed: number
  retried: number
  in_progress: number
}

export interface Snapshot {
  id: string
  window_ms: number
  count: number
  total: number
  min_ns: number | null
  max_ns: number | null
  mean_ns: number | null
  p50_ns: number | null
  p95_ns: number | null
  p99_ns: number | null
  quantiles?: Record<string, number | null>
  le?: Record<string, { count: number; fraction: number | null }>
  statuses: Record<string, number>
  errors: number
  error_rate: number | null
  jobs: JobCounts
}

export interface ServiceStatus {
  uptime_s: number
  metrics: number
  samples_total: number
  evicted_total: number
  ring_bytes: number
  limits: { window_ms: number; max_samples: number; max_metrics: number; idle_ttl_ms: number }
  requests: { total: number; in_flight: number; '2xx': number; '3xx': number; '4xx': number; '5xx': number }
  /** Present when the StatsD door exists. */
  statsd?: Record<string, unknown>
  /** Present when the OTLP door exists. */
  otlp?: Record<string, unknown>
}

export interface MetricList {
  window_ms: number
  metrics: Snapshot[]
  service: ServiceStatus
}

export interface SeriesPoint {
  t_ms: number
  count: number
  min_ns: number | null
  max_ns: number | null
  mean_ns: number | null
  p50_ns: number | null
  p95_ns: number | null
  p99_ns: number | null
  quantiles?: Record<string, number | null>
  errors: number
}

export interface Series {
  id: string
  window_ms: number
  step_ms: number
  points: SeriesPoint[]
}

export class ApiError extends Error {
  /**
   * The HTTP status, or null when the service did not answer; how long the service asked
   * clients to wait before they try again (an overloaded one sends 503 with Retry-After), or null.
   */
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message)
  }
}

/** Why the page asks for a token: none was given yet, the service refused it, or no header can carry it. */
export type TokenRequest = 'needed' | 'refused' | 'unusable'

/** Asks the person for a token. Null: they declined. */
export type AskToken = (why: TokenRequest) => Promise<string | null>

const TOKEN_KEY = 'latency-tracker.token'

/**
 * How long a request may take before the service counts as not answering. A stopped
 * or stuck service often keeps its connections open, so without a bound the page would
 * wait forever and keep saying "Updated". A healthy service answers in milliseconds
 * (GET /metrics of a million samples takes tens of them), so 10 s leaves a loaded one
 * ample time while a stuck one shows as failed within seconds. It is not tied to the
 * refresh period: refreshes never overlap, and a longer period does not make an answer slower.
 */
const ANSWER_WITHIN_MS = 10_000

/**
 * Why a token cannot be sent as `Authorization: Bearer`, or null when it can. Header
 * values are bytes (a browser cannot send characters past U+00FF at all), and the
 * service takes only tokens of printable ASCII without spaces (its configuration
 * refuses any other), so no other token can be right.
 */
export function tokenProblem(token: string): string | null {
  if (token === '') return 'the token is empty'
  const bad = /[^\x21-\x7e]/u.exec(token)
  if (bad === null) return null
  const code = `U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
  const shown = bad[0] === ' ' ? 'a space' : /\p{L}|\p{N}|\p{P}|\p{S}/u.test(bad[0]) ? `"${bad[0]}" (${code})` : code
  return `a token is ASCII letters, digits and punctuation only (no spaces), and this one has ${shown}`
}

/**
 * GETs JSON from the service. With AUTH_TOKEN set, a 401 makes it ask for a token
 * (once, however many requests failed together), keep it in sessionStorage (this
 * tab only) and retry; a refused token is forgotten and asked for again.
 */
export class Api {
  #asking: Promise<string | null> | null = null
  #declined = false

  constructor(private readonly askToken: AskToken) {}

  /** After the person declined to give a token, ask again on the next 401 (an explicit refresh). */
  allowAsking(): void {
    this.#declined = false
  }

  async get<T>(path: string): Promise<T> {
    for (;;) {
      const token = sessionStorage.getItem(TOKEN_KEY)
      if (token !== null && tokenProblem(token) !== null) {
        // Kept from before the dialog checked tokens, or put there by hand: no request can carry it.
        await this.#replaceToken(token, 'unusable')
        continue
      }
      // Built outside the try below: a header that cannot be built is not a service that did not answer.
      const headers = new Headers({ accept: 'application/json' })
      if (token !== null) headers.set('authorization', `Bearer ${token}`)
      const signal = AbortSignal.timeout(ANSWER_WITHIN_MS)
      let res: Response
      try {
        res = await fetch(path, { headers, cache: 'no-store', signal })
      } catch (err) {
        throw notAnswered(err)
      }
      if (res.status === 401) {
        await this.#replaceToken(token, token === null ? 'needed' : 'refused')
        continue
      }
      if (!res.ok) throw new ApiError(await errorMessage(res), res.status, retryAfterMs(res))
      try {
        return (await res.json()) as T
      } catch (err) {
        // The body stopped coming: as good as no answer. Anything else (not JSON) is what it is.
        throw signal.aborted ? notAnswered(err) : err
      }
    }
  }

  /** Asks for a token in place of `current` (none, refused or unusable), unless another request already did. */
  async #replaceToken(current: string | null, why: TokenRequest): Promise<void> {
    // Another request that failed with the same token may have got a new one already.
    if (sessionStorage.getItem(TOKEN_KEY) !== current) return
    if (this.#declined) throw new ApiError('this service needs a token: press Refresh now to give one', 401)
    this.#asking ??= this.askToken(why).finally(() => {
      this.#asking = null
    })
    const token = await this.#asking
    if (token === null) {
      this.#declined = true
      sessionStorage.removeItem(TOKEN_KEY)
      throw new ApiError('this service needs a token: press Refresh now to give one', 401)
    }
    sessionStorage.setItem(TOKEN_KEY, token)
  }
}

/** A fetch that failed or ran out of time, as the refresh line says it. */
function notAnswered(err: unknown): ApiError {
  if (err instanceof DOMException && err.name === 'TimeoutError') {
    return new ApiError(`the service did not answer in ${ANSWER_WITHIN_MS / 1000} s: it is stopped, stuck or overloaded`, null)
  }
  return new ApiError('the service did not answer: it is down or unreachable', null)
}

/** Retry-After in ms; null without one, or with a date (the service sends seconds). */
function retryAfterMs(res: Response): number | null {
  const seconds = res.headers.get('retry-after')
  return seconds !== null && /^\d+$/.test(seconds) ? Number(seconds) * 1000 : null
}

/** The message of the service's JSON error, or the status line. */
async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { message?: unknown }
    if (typeof body.message === 'string') return `${res.status}: ${body.message}`
  } catch {
    // not JSON: fall through to the status line
  }
  return `${res.status} ${res.statusText}`
}
