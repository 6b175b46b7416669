/**
 * What a sample holds, and how rings lay samples out in memory. The ring
 * (sample-ring.ts), its pool (ring-pool.ts) and the state file (state-file.ts)
 * size and place every column from here: a new column starts in this file.
 *
 * A sample is
 *   value   latency in ns, an integer 1..2^53-1          f64 column, always
 *   time    when it was recorded, in ms on the store's   f64 column, always
 *           clock (monotonic + an offset fixed at start)
 *   status  0..999 (0: no response), or none             u16 column, only in rings
 *                                                        that have received one
 *
 * A ring's region of f64 memory holds its f64 columns one after the other, each
 * `capacity` cells long, so a read streams the values alone and copies them with
 * a memcpy:
 *
 *   [ v0 v1 ... v(cap-1) | t0 t1 ... t(cap-1) ]
 *     ^ base (values)      ^ base + TIME_COLUMN * cap (times)
 *
 * The status column is a Uint16Array of `capacity` cells beside the region,
 * allocated the first time the ring receives a status (so a metric that never
 * does pays nothing for it); NO_STATUS marks a sample sent without one.
 */
/** The time column follows the value column (which starts at base). */
export const TIME_COLUMN = 1
/** f64 columns per sample: the region of a ring of capacity c is F64_COLUMNS * c cells. */
export const F64_COLUMNS = TIME_COLUMN + 1
/** Bytes of a sample in ring memory without a status column. */
export const SAMPLE_BYTES = F64_COLUMNS * 8
/** Bytes a status column adds per sample. */
export const STATUS_BYTES = Uint16Array.BYTES_PER_ELEMENT

/** Latencies are integers from 1 to 2^53-1 ns, so every one is exact in a double. */
export const MIN_LATENCY_NS = 1
export const MAX_LATENCY_NS = Number.MAX_SAFE_INTEGER
/** Statuses are integers 0..999: 0 means no response (a connection error, a timeout). */
export const MAX_STATUS = 999
/** In a status column: a sample recorded without a status. Never a valid status. */
export const NO_STATUS = 0xffff

/** Whether a status counts as an error: no response (0) or a server error (>= 500). */
export function isErrorStatus(status: number): boolean {
  return status === 0 || (status >= 500 && status <= MAX_STATUS)
}
