import { JOB_EVENTS } from './metric.js'
import { MAX_LATENCY_NS, MAX_STATUS, MIN_LATENCY_NS, NO_STATUS } from './sample-layout.js'

/**
 * The rules every door applies before the store records anything (the HTTP
 * routes, and any later UDP or OTLP door, call MetricStore.ingestSamples and
 * ingestJobEvents, which check them): no door can store what another would refuse.
 * A refusal names its reason, so each door answers in its own terms (HTTP: 400
 * or 429) and stores nothing.
 */
export const METRIC_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,128}$'
export const MAX_ID_LENGTH = 128
/** Values one call may record. */
export const MAX_BATCH = 10_000
/** Job events one call may count. */
export const MAX_JOB_COUNT = 1_000_000

export type IngestRefusalReason =
  | 'invalid-id'
  | 'invalid-latency'
  | 'empty-batch'
  | 'batch-too-large'
  | 'invalid-status'
  | 'status-mismatch'
  | 'invalid-event'
  | 'invalid-count'
  | 'metric-limit'

/** Why nothing was recorded. `metric-limit` is the store being full; every other reason is the input's fault. */
export class IngestRefusal {
  constructor(
    readonly reason: IngestRefusalReason,
    readonly message: string,
  ) {}
}

const METRIC_ID = new RegExp(METRIC_ID_PATTERN)

export function checkMetricId(id: string): IngestRefusal | undefined {
  return METRIC_ID.test(id)
    ? undefined
    : new IngestRefusal('invalid-id', `metric id "${id.slice(0, MAX_ID_LENGTH)}" must be 1–${MAX_ID_LENGTH} characters from A-Z a-z 0-9 _ . : -`)
}

function isLatency(v: number): boolean {
  return v >= MIN_LATENCY_NS && v <= MAX_LATENCY_NS && Number.isInteger(v)
}

function isStatus(s: number): boolean {
  return s >= 0 && s <= MAX_STATUS && Number.isInteger(s)
}

/**
 * Checks samples to record: one latency or a batch of 1..MAX_BATCH, each an
 * integer 1..2^53-1 ns; a status that is absent (NO_STATUS), one integer 0..999
 * for every value, or (for a batch only) one per value.
 *
 * A Uint16Array of statuses (what the HTTP body scanner hands over) holds
 * integers 0..65535 by construction; that each is at most MAX_STATUS is checked
 * by the store as it counts them (StatusTally.countWithBuckets returns the largest, and
 * statusesRefusal words the refusal), which saves a pass over the batch.
 */
export function checkSamples(latency: number | ArrayLike<number>, status: number | ArrayLike<number>): IngestRefusal | undefined {
  if (typeof latency === 'number') {
    if (!isLatency(latency)) return badLatency(latency)
    if (typeof status !== 'number') return new IngestRefusal('status-mismatch', 'status must be one integer when latency_ns is one value')
  } else {
    const n = latency.length
    if (n === 0) return new IngestRefusal('empty-batch', 'latency_ns must hold at least 1 value')
    if (n > MAX_BATCH) return new IngestRefusal('batch-too-large', `latency_ns holds ${n} values; at most ${MAX_BATCH} per call`)
    for (let i = 0; i < n; i++) if (!isLatency(latency[i])) return badLatency(latency[i])
    if (typeof status !== 'number') {
      if (status.length !== n) {
        return new IngestRefusal('status-mismatch', `status holds ${status.length} values for ${n} latencies: send one per value, or one for all`)
      }
      if (status instanceof Uint16Array) return undefined
      for (let i = 0; i < n; i++) if (!isStatus(status[i])) return badStatus(status[i])
      return undefined
    }
  }
  return status === NO_STATUS || isStatus(status) ? undefined : badStatus(status)
}

/** The refusal of a batch of statuses some of which are not integers 0..MAX_STATUS. */
export function statusesRefusal(statuses: ArrayLike<number>): IngestRefusal {
  for (let i = 0; i < statuses.length; i++) if (!isStatus(statuses[i])) return badStatus(statuses[i])
  throw new RangeError('every status is in range')
}

/** Checks job events to count: a known event, a count 1..MAX_JOB_COUNT. */
export function checkJobEvents(event: string, count: number): IngestRefusal | undefined {
  if (!(JOB_EVENTS as readonly string[]).includes(event)) {
    return new IngestRefusal('invalid-event', `job event "${event}" must be one of ${JOB_EVENTS.join(', ')}`)
  }
  if (!(count >= 1 && count <= MAX_JOB_COUNT && Number.isInteger(count))) {
    return new IngestRefusal('invalid-count', `job count ${count} must be an integer from 1 to ${MAX_JOB_COUNT}`)
  }
  return undefined
}

function badLatency(v: number): IngestRefusal {
  return new IngestRefusal('invalid-latency', `latency ${v} must be an integer from ${MIN_LATENCY_NS} to ${MAX_LATENCY_NS} ns`)
}

function badStatus(s: number): IngestRefusal {
  return new IngestRefusal('invalid-status', `status ${s} must be an integer from 0 to ${MAX_STATUS}`)
}
