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
  /** The HTTP status, or null when the service did not answer. */
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message)
  }
}

/** Asks the person for a token; `refused` says whether the last one was refused. Null: they declined. */
export type AskToken = (refused: boolean) => Promise<string | null>

const TOKEN_KEY = 'latency-tracker.token'

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
      let res: Response
      try {
        const headers: Record<string, string> = { accept: 'application/json' }
        if (token !== null) headers.authorization = `Bearer ${token}`
        res = await fetch(path, { headers, cache: 'no-store' })
      } catch {
        throw new ApiError('the service did not answer: it is down or unreachable', null)
      }
      if (res.status === 401) {
        await this.#replaceToken(token)
        continue
      }
      if (!res.ok) throw new ApiError(await errorMessage(res), res.status)
      return (await res.json()) as T
    }
  }

  async #replaceToken(refused: string | null): Promise<void> {
    // Another request that failed with the same token may have got a new one already.
    if (sessionStorage.getItem(TOKEN_KEY) !== refused) return
    if (this.#declined) throw new ApiError('this service needs a token: press Refresh now to give one', 401)
    this.#asking ??= this.askToken(refused !== null).finally(() => {
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
