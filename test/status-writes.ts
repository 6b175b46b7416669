import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { expect } from 'vitest'
import type { MetricStore } from '../src/store/metric-store.js'
import { type ReadOptions, parseQuantiles, parseStatusFilter, parseThresholds } from '../src/store/read-options.js'
import { postJson } from './helper.js'
import type { RefReadOptions, TimedStatusSample } from './reference.js'

/**
 * Random writes with statuses for the property tests of statuses, filters and
 * series (statuses.test.ts, series.test.ts): each write advances a manual clock,
 * then records one value, a batch with one status (or none), or a batch with a
 * status per value. Replayed into a store or over HTTP, a script returns the
 * samples as the sort-based reference sees them.
 */
export type Write =
  | { advanceMs: number; kind: 'single'; value: number; status?: number }
  | { advanceMs: number; kind: 'batch'; values: number[]; status?: number }
  | { advanceMs: number; kind: 'per-value'; values: number[]; statuses: number[] }

/** A realistic clock reading in Unix ms (a multiple of 1000), so that steps align to real multiples of step_ms. */
export const CLOCK_START = 1_795_996_034_000

/** Latency-like integers: many small duplicates (3..20, so thresholds 1..2 lie below them), a wide middle, a few huge. */
export const latencyArb = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 3, max: 20 }) },
  { weight: 60, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
  { weight: 10, arbitrary: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) },
)

/** Mostly common codes (so filters match), the edges 0 and 999 often, any status sometimes. */
export const statusArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(200, 201, 204, 301, 404, 429, 500, 503) },
  { weight: 2, arbitrary: fc.constantFrom(0, 999) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 999 }) },
)

/**
 * The statuses one metric receives in a run: a few distinct ones, drawn from
 * statusArb: up to 12, past the 4 cells StatusTotals starts with, so its growth is exercised.
 */
export const DISTINCT_STATUSES_PER_METRIC = 12
export const statusPoolArb = fc.uniqueArray(statusArb, { minLength: 1, maxLength: DISTINCT_STATUSES_PER_METRIC })

/** 1..16 well-formed ?status= terms: classes 1xx..9xx and exact statuses, repeats allowed. */
export const statusTermsArb = fc.array(
  fc.oneof(
    fc.integer({ min: 1, max: 9 }).map((d) => `${d}xx`),
    statusArb.map(String),
  ),
  { minLength: 1, maxLength: 16 },
)

/** Quantiles as written in ?quantiles=: "0.001" .. "1". */
export const quantileArb = fc.integer({ min: 1, max: 1000 }).map((k) => String(k / 1000))

/** SLO thresholds as written in ?le_ns=: small (around and below the small latencies), wide, and the largest allowed. */
export const thresholdArb = fc
  .oneof(
    fc.integer({ min: 1, max: 25 }),
    fc.integer({ min: 1, max: 1_000_000 }),
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    fc.constant(Number.MAX_SAFE_INTEGER),
  )
  .map(String)

export interface WriteShape {
  /** How far the clock moves before the write. */
  advance: fc.Arbitrary<number>
  minBatch?: number
  maxBatch?: number
  status?: fc.Arbitrary<number>
}

export function writeArb({ advance, minBatch = 1, maxBatch = 40, status = statusArb }: WriteShape): fc.Arbitrary<Write> {
  const batch = fc.array(latencyArb, { minLength: minBatch, maxLength: maxBatch })
  return fc.oneof(
    fc.record({ advanceMs: advance, kind: fc.constant('single' as const), value: latencyArb, status: fc.option(status, { nil: undefined }) }),
    fc.record({ advanceMs: advance, kind: fc.constant('batch' as const), values: batch, status: fc.option(status, { nil: undefined }) }),
    batch.chain((values) =>
      fc.record({
        advanceMs: advance,
        kind: fc.constant('per-value' as const),
        values: fc.constant(values),
        statuses: fc.array(status, { minLength: values.length, maxLength: values.length }),
      }),
    ),
  )
}

/** A script of minWrites..maxWrites writes whose statuses come from one pool (statusPoolArb), unless `status` is given. */
export function writesArb(shape: WriteShape & { minWrites: number; maxWrites: number }): fc.Arbitrary<Write[]> {
  const { minWrites, maxWrites, ...write } = shape
  const status = write.status === undefined ? statusPoolArb.map((pool) => fc.constantFrom(...pool)) : fc.constant(write.status)
  return status.chain((s) => fc.array(writeArb({ ...write, status: s }), { minLength: minWrites, maxLength: maxWrites }))
}

/** The samples a write records, at clock time `time`, in the order the store keeps them. */
function samplesOf(write: Write, time: number): TimedStatusSample[] {
  switch (write.kind) {
    case 'single':
      return [{ value: write.value, time, status: write.status }]
    case 'batch':
      return write.values.map((value) => ({ value, time, status: write.status }))
    case 'per-value':
      return write.values.map((value, i) => ({ value, time, status: write.statuses[i] }))
  }
}

interface Clock {
  now(): number
  advance(ms: number): void
}

/** Records the writes through the store's domain ingest API; returns every sample recorded, oldest first. */
export function replayIntoStore(store: MetricStore, id: string, clock: Clock, writes: readonly Write[]): TimedStatusSample[] {
  const samples: TimedStatusSample[] = []
  for (const write of writes) {
    clock.advance(write.advanceMs)
    const latency = write.kind === 'single' ? write.value : write.values
    const status = write.kind === 'per-value' ? write.statuses : write.status
    expect(store.ingestSamples(id, latency, status)).toBe(write.kind === 'single' ? 1 : write.values.length)
    samples.push(...samplesOf(write, clock.now()))
  }
  return samples
}

/** Posts the writes to POST /metrics/:id/latency; returns every sample recorded, oldest first. */
export async function replayOverHttp(app: FastifyInstance, id: string, clock: Clock, writes: readonly Write[]): Promise<TimedStatusSample[]> {
  const samples: TimedStatusSample[] = []
  for (const write of writes) {
    clock.advance(write.advanceMs)
    const latency_ns = write.kind === 'single' ? write.value : write.values
    const status = write.kind === 'per-value' ? write.statuses : write.status
    const res = await postJson(app, `/metrics/${id}/latency`, status === undefined ? { latency_ns } : { latency_ns, status })
    expect(res.statusCode, res.body).toBe(202)
    samples.push(...samplesOf(write, clock.now()))
  }
  return samples
}

/** A generated read as the store takes it, parsed by the domain's own parsers (as every door does). */
export function readOptions(read: RefReadOptions & { windowMs: number }): ReadOptions {
  const parsed = <T>(v: T | string): T => {
    if (typeof v === 'string') throw new Error(`test generated a malformed query: ${v}`)
    return v
  }
  return {
    windowMs: read.windowMs,
    status: read.status === undefined ? undefined : parsed(parseStatusFilter(read.status.join(','))),
    quantiles: read.quantiles === undefined ? undefined : parsed(parseQuantiles(read.quantiles.join(','))),
    le: read.le === undefined ? undefined : parsed(parseThresholds(read.le.join(','))),
  }
}
