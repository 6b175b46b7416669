/**
 * Obviously-right reference implementations for the store tests: whole-array sorts,
 * linear scans and exact integer arithmetic, with no attempt at being fast.
 * Nothing here imports from src/, so a test comparing the two is not comparing
 * the code with itself.
 */

/** A decimal string split into an exact fraction num / den (den a power of ten). */
export function decimalFraction(q: string): { num: bigint; den: bigint } {
  const parts = q.split('.')
  if (parts.length > 2) throw new Error(`reference: ${q} has more than one '.'`)
  const whole = parts[0]
  const fraction = parts[1] ?? ''
  if (!/^\d*$/.test(whole) || !/^\d*$/.test(fraction) || whole + fraction === '') {
    throw new Error(`reference: ${q} is not a plain decimal`)
  }
  // "0.07" -> 7 / 100, "1.50" -> 150 / 100, ".5" -> 5 / 10
  return { num: BigInt(whole + fraction), den: 10n ** BigInt(fraction.length) }
}

/**
 * Whether `text` is what the service should accept as a quantile: digits with an
 * optional fractional part ("0.5", "1", ".5"; not "1." or "1e-3"), with a value > 0
 * and <= 1, at most 32 characters.
 */
export function isValidQuantileText(text: string): boolean {
  if (text.length === 0 || text.length > 32) return false
  const dot = text.indexOf('.')
  const whole = dot === -1 ? text : text.slice(0, dot)
  const fraction = dot === -1 ? '' : text.slice(dot + 1)
  const isDigits = (s: string) => [...s].every((c) => c >= '0' && c <= '9')
  if (!isDigits(whole) || !isDigits(fraction)) return false
  if (dot !== -1 && fraction === '') return false
  if (whole === '' && fraction === '') return false
  const { num, den } = decimalFraction(text)
  return num > 0n && num <= den
}

/**
 * Nearest-rank index for quantile q (decimal string) over n sorted values:
 * rank = ceil(q·n) computed exactly as a quotient and remainder of integers,
 * index = rank − 1 clamped to 0..n−1.
 */
export function nearestRankIndexRef(q: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`reference: n must be >= 1, got ${n}`)
  const { num, den } = decimalFraction(q)
  const product = num * BigInt(n) // q·n = product / den exactly
  const quotient = product / den
  const remainder = product % den
  const rank = Number(remainder === 0n ? quotient : quotient + 1n)
  return Math.min(Math.max(rank - 1, 0), n - 1)
}

export function sortedCopy(values: ArrayLike<number>): number[] {
  return Array.from(values).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The nearest-rank quantile q of values: sorted ascending copy at nearestRankIndexRef. */
export function nearestRank(values: ArrayLike<number>, q: string): number {
  if (values.length === 0) throw new Error('reference: nearestRank of no values')
  return sortedCopy(values)[nearestRankIndexRef(q, values.length)]
}

export function refMin(values: readonly number[]): number | null {
  return values.length === 0 ? null : sortedCopy(values)[0]
}

export function refMax(values: readonly number[]): number | null {
  return values.length === 0 ? null : sortedCopy(values)[values.length - 1]
}

/** Exact sum of integer values (BigInt, so no rounding however large the values). */
export function exactSum(values: readonly number[]): bigint {
  let s = 0n
  for (const v of values) s += BigInt(v)
  return s
}

/**
 * Mean of integer values, from the exact sum: correct to within two roundings.
 * Compare a float-summed mean with `closeToMean` rather than exact equality.
 */
export function refMean(values: readonly number[]): number | null {
  return values.length === 0 ? null : Number(exactSum(values)) / values.length
}

/**
 * Whether `got` is within the error a left-to-right double summation of n positive
 * values can make: relative error at most (n + 1) · 2^-52.
 */
export function closeToMean(got: number, want: number, n: number): boolean {
  return Math.abs(got - want) <= Math.abs(want) * (n + 1) * Number.EPSILON
}

export interface TimedSample {
  value: number
  time: number
}

/** Samples whose age at `now` is strictly less than windowMs (age = now − time). */
export function inWindow<T extends TimedSample>(samples: readonly T[], now: number, windowMs: number): T[] {
  return samples.filter((s) => now - s.time < windowMs)
}

/** Index of the `le` bucket for value: the first bound with value <= bound, else bounds.length (+Inf). */
export function refBucketIndex(bounds: ArrayLike<number>, value: number): number {
  for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]) return i
  return bounds.length
}

/**
 * Capacity a growing ring should have after `pushes` pushes, from `initial`:
 * through the pool's size classes (1, 2, 3, then P, 1.25P, 1.5P, 1.75P for each
 * power of two P) up to maxPooled, then doubling; clamped to max.
 */
export function refGrownCapacity(pushes: number, max: number, initial: number, maxPooled = 512): number {
  const isPowerOfTwo = (c: number) => (c & (c - 1)) === 0
  const isClass = (c: number) => c <= 3 || [4, 5, 6, 7].some((q) => c % q === 0 && isPowerOfTwo(c / q) && c / q >= 1)
  let cap = Math.min(initial, max)
  while (cap < pushes && cap < max) {
    let next = cap * 2
    if (cap < maxPooled) for (next = cap + 1; !isClass(next); next++);
    cap = Math.min(next, max)
  }
  return cap
}

/** A manual monotonic clock for window tests (no Fastify involved). */
export function manualClock(start = 1_000) {
  let t = start
  return {
    now: () => t,
    advance(ms: number) {
      if (ms < 0) throw new Error('reference: the clock is monotonic')
      t += ms
    },
  }
}

/** Every (value, time) pair a ring holds, oldest first, via its forEach. */
export function ringContents(ring: { forEach(visit: (value: number, time: number) => void): void }): TimedSample[] {
  const out: TimedSample[] = []
  ring.forEach((value, time) => out.push({ value, time }))
  return out
}

/** A sample's value and status (undefined: sent without one): what refStats reads. */
export interface StatusSample {
  value: number
  status?: number
}

/** A sample as a test recorded it: value, status, and clock time (for windows and series). */
export interface TimedStatusSample extends StatusSample {
  time: number
}

/**
 * Whether `term` is a well-formed ?status= term: a class "1xx".."9xx", or an
 * exact status 0..999 written the way String() writes it (so no leading zero,
 * no sign, no space).
 */
export function isValidStatusTermRef(term: string): boolean {
  if (/^[1-9]xx$/.test(term)) return true
  return /^[0-9]+$/.test(term) && String(Number(term)) === term && Number(term) <= 999
}

/** Whether a sample's status matches any of the terms ("404": that status; "5xx": 500..599). No status never matches. */
export function statusMatchesRef(status: number | undefined, terms: readonly string[]): boolean {
  if (status === undefined) return false
  return terms.some((term) => (term.endsWith('xx') ? status >= Number(term[0]) * 100 && status <= Number(term[0]) * 100 + 99 : status === Number(term)))
}

/** An error: no response (0) or a server error (500..999). */
export function isErrorStatusRef(status: number): boolean {
  return status === 0 || status >= 500
}

/** What a read asks for beyond its window, as the query strings give it (split on commas). */
export interface RefReadOptions {
  /** ?status= terms; undefined: no filter. */
  status?: readonly string[]
  /** ?quantiles= values as written. */
  quantiles?: readonly string[]
  /** ?le_ns= thresholds as written. */
  le?: readonly string[]
}

/** The windowed statistics of a snapshot or a series point, in the service's JSON shape. */
export interface RefStats {
  count: number
  min_ns: number | null
  max_ns: number | null
  /** From the exact sum: compare with alignMean / closeToMean. */
  mean_ns: number | null
  p50_ns: number | null
  p95_ns: number | null
  p99_ns: number | null
  quantiles?: Record<string, number | null>
  le?: Record<string, { count: number; fraction: number | null }>
  statuses: Record<string, number>
  errors: number
  error_rate: number | null
}

/**
 * Statistics of `samples` (already chosen by time) as the contract defines them:
 * with a status filter only the matching samples count, for every field; a
 * field over no sample is null.
 */
export function refStats(samples: readonly StatusSample[], options: RefReadOptions = {}): RefStats {
  const terms = options.status
  const kept = terms === undefined ? samples : samples.filter((s) => statusMatchesRef(s.status, terms))
  const values = kept.map((s) => s.value)
  const n = values.length
  const at = (q: string) => (n === 0 ? null : nearestRank(values, q))
  const statuses: Record<string, number> = {}
  let withStatus = 0
  let errors = 0
  for (const s of kept) {
    if (s.status === undefined) continue
    withStatus++
    if (isErrorStatusRef(s.status)) errors++
    statuses[String(s.status)] = (statuses[String(s.status)] ?? 0) + 1
  }
  const stats: RefStats = {
    count: n,
    min_ns: refMin(values),
    max_ns: refMax(values),
    mean_ns: refMean(values),
    p50_ns: at('0.5'),
    p95_ns: at('0.95'),
    p99_ns: at('0.99'),
    statuses,
    errors,
    error_rate: withStatus === 0 ? null : errors / withStatus,
  }
  if (options.quantiles !== undefined) stats.quantiles = Object.fromEntries(options.quantiles.map((q) => [q, at(q)]))
  if (options.le !== undefined) {
    stats.le = Object.fromEntries(
      options.le.map((t) => {
        const count = values.filter((v) => v <= Number(t)).length
        return [t, { count, fraction: n === 0 ? null : count / n }]
      }),
    )
  }
  return stats
}

/** A series point as the reference computes it: the step's start and the samples it holds. */
export interface RefStep {
  t_ms: number
  samples: TimedStatusSample[]
}

/**
 * Every step [k·step, (k+1)·step) that overlaps the window [now − windowMs, now],
 * oldest first; each holds the samples with floor(time / step) = k that are in
 * the window (time > now − windowMs, time <= now).
 */
export function refSeries(samples: readonly TimedStatusSample[], now: number, windowMs: number, stepMs: number): RefStep[] {
  const since = now - windowMs
  const byStep = new Map<number, TimedStatusSample[]>()
  for (const s of samples) {
    if (!(s.time > since && s.time <= now)) continue
    const k = Math.floor(s.time / stepMs)
    const step = byStep.get(k)
    if (step === undefined) byStep.set(k, [s])
    else step.push(s)
  }
  const steps: RefStep[] = []
  // Candidates one step beyond each end; the overlap test keeps the right ones.
  for (let k = Math.floor(since / stepMs) - 1; k <= Math.floor(now / stepMs) + 1; k++) {
    const start = k * stepMs
    if (start <= now && start + stepMs > since) steps.push({ t_ms: start, samples: byStep.get(k) ?? [] })
  }
  return steps
}

/**
 * `got` with its mean_ns replaced by `want`'s when the two agree within the
 * rounding of a float sum (closeToMean), so that toEqual(want) compares every
 * other field exactly and still shows a mean that is really off.
 */
export function alignMean<T extends { mean_ns?: unknown; count?: unknown }>(got: T, want: { mean_ns: number | null }): T {
  const mean = got.mean_ns
  if (typeof mean === 'number' && want.mean_ns !== null && typeof got.count === 'number' && closeToMean(mean, want.mean_ns, got.count)) {
    return { ...got, mean_ns: want.mean_ns }
  }
  return got
}
