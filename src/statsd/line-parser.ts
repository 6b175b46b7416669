import { MAX_BATCH, MAX_ID_LENGTH, MAX_JOB_COUNT } from '../store/ingest.js'
import { JOB_EVENTS, type JobEvent } from '../store/metric.js'
import { MAX_LATENCY_NS, MAX_STATUS, MIN_LATENCY_NS, NO_STATUS } from '../store/sample-layout.js'
import { DecimalScan } from './decimal-scan.js'
import { cleanKey } from './key-cleaning.js'

/**
 * One StatsD line, `name:value|type[|@rate][|#tags]`, read into what the store
 * records: no I/O, and no allocation beyond the id string (values go into a
 * reused array). Both multi-value forms are read: `name:1|ms:2|ms` (the
 * reference daemon, each group with its own type and rate) and `name:1:2:3|ms`
 * (DogStatsD 1.1). Fields after the type may come in any order: `@rate`,
 * `#tags`, and others (DogStatsD extensions such as `c:` container ids or
 * `T` timestamps), which are skipped.
 *
 *   timer    ms, h, d: every value in ms, to whole ns by rounding to nearest
 *   job      c with a name `<id>.<event>`: the sum of value / rate over the
 *            line's values, rounded, adds to that job counter of <id>
 *   ignored  other counters, g, s, events `_e{...}`, service checks `_sc|...`
 *   bad      anything else; `reason` says why
 *
 * A tag `status:<0..999>` gives every value of the line that status.
 */
export const LineKind = { timer: 0, job: 1, ignored: 2, bad: 3 } as const
export type LineKind = (typeof LineKind)[keyof typeof LineKind]

/** The type classes a line's groups may have; all groups of a line must share one. */
const TypeClass = { none: 0, timer: 1, counter: 2, other: 3 } as const
type TypeClass = (typeof TypeClass)[keyof typeof TypeClass]

const UNDERSCORE = 95
const COLON = 58
const PIPE = 124
const AT = 64
const HASH = 35
const COMMA = 44
const DIGIT_0 = 48
const DIGIT_9 = 57

const JOB_SUFFIXES = JOB_EVENTS.map((event) => ({ event, suffix: `.${event}` }))

export class LineParser {
  /** What the last parse found. */
  kind: LineKind = LineKind.bad
  /** Timer: the metric id (the cleaned name). Job: the id before `.<event>`. */
  id = ''
  /** Timer: the status of every value, or NO_STATUS. */
  status = NO_STATUS
  /** Timer: the values in ns, in values[0..count). */
  readonly values = new Float64Array(MAX_BATCH)
  count = 0
  /** Job: the event and how many. */
  event: JobEvent = 'created'
  jobCount = 0
  /** Bad: why (a fixed text, so a flood of bad lines allocates nothing for it). */
  reason = ''
  private readonly number = new DecimalScan()

  /** Parses text[start..end), a line without its line break. */
  parse(text: string, start: number, end: number): LineKind {
    if (text.charCodeAt(start) === UNDERSCORE && (text.startsWith('_e{', start) || text.startsWith('_sc|', start))) {
      return (this.kind = LineKind.ignored)
    }
    const colon = find(text, COLON, start, end)
    if (colon < 0) return this.bad('no ":" after the name')

    let lineClass: TypeClass = TypeClass.none
    let invalid = '' // the first value, rate or tag problem; matters only if the line is not ignored
    let count = 0
    let counterSum = 0
    this.status = NO_STATUS
    let groupStart = colon + 1
    for (;;) {
      const pipe = find(text, PIPE, groupStart, end)
      if (pipe < 0) return this.bad('no "|type" after the value')
      let i = pipe + 1
      while (i < end) {
        const c = text.charCodeAt(i)
        if (c === PIPE || c === COLON) break
        i++
      }
      const typeClass = classify(text, pipe + 1, i)
      if (typeClass === TypeClass.none) return this.bad('unknown type (expected ms, h, d, c, g or s)')
      if (lineClass !== TypeClass.none && typeClass !== lineClass) return this.bad('values of different kinds on one line')
      lineClass = typeClass

      let rate = 1
      while (i < end && text.charCodeAt(i) === PIPE) {
        const field = i + 1
        const first = field < end ? text.charCodeAt(field) : -1
        if (first === AT) {
          const after = this.number.scan(text, field + 1, end)
          rate = after < 0 ? NaN : this.number.toNumber()
          if (!(rate > 0 && rate <= 1) || (after < end && text.charCodeAt(after) !== PIPE && text.charCodeAt(after) !== COLON)) {
            if (invalid === '') invalid = 'sample rate must be a number with 0 < rate <= 1'
            i = skipTo(text, field, end, true)
          } else {
            i = after
          }
        } else {
          // Tags and other fields run to the next "|": their text may hold ":".
          i = skipTo(text, field, end, false)
          if (first === HASH && invalid === '') invalid = this.readTags(text, field + 1, i)
        }
      }

      if (typeClass === TypeClass.timer) {
        let v = groupStart
        for (;;) {
          const after = this.number.scan(text, v, pipe)
          const ns = after < 0 ? NaN : this.number.toNanoseconds()
          if (after < 0 || (after < pipe && text.charCodeAt(after) !== COLON) || !(ns >= MIN_LATENCY_NS && ns <= MAX_LATENCY_NS)) {
            if (invalid === '') invalid = 'timer value must be a number of ms from 0.0000005 to 9007199254.740991'
          } else if (count < MAX_BATCH) {
            this.values[count] = ns
          }
          count++
          v = find(text, COLON, v, pipe)
          if (v < 0) break
          v++
        }
      } else if (typeClass === TypeClass.counter) {
        let sum = 0
        let v = groupStart
        for (;;) {
          const after = this.number.scan(text, v, pipe)
          if (after < 0 || (after < pipe && text.charCodeAt(after) !== COLON)) {
            if (invalid === '') invalid = 'counter value must be a number'
          } else {
            sum += this.number.toNumber()
          }
          v = find(text, COLON, v, pipe)
          if (v < 0) break
          v++
        }
        counterSum += sum / rate
      }

      if (i >= end) break
      groupStart = i + 1 // i is at a ":" that follows a type or a rate: another group
    }

    if (lineClass === TypeClass.other) return (this.kind = LineKind.ignored)
    const name = cleanKey(text, start, colon)
    if (lineClass === TypeClass.counter) {
      const job = jobSuffix(name)
      if (job === undefined) return (this.kind = LineKind.ignored)
      if (invalid !== '') return this.bad(invalid)
      if (name.length > MAX_ID_LENGTH) return this.bad(`name longer than ${MAX_ID_LENGTH} characters after cleaning`)
      if (name.length === job.suffix.length) return this.bad('job counter name has no id before the event')
      const jobCount = Math.round(counterSum)
      if (!(jobCount >= 1 && jobCount <= MAX_JOB_COUNT)) return this.bad(`job count (value / rate) must come to 1..${MAX_JOB_COUNT}`)
      this.id = name.slice(0, name.length - job.suffix.length)
      this.event = job.event
      this.jobCount = jobCount
      return (this.kind = LineKind.job)
    }
    if (invalid !== '') return this.bad(invalid)
    if (count > MAX_BATCH) return this.bad(`more than ${MAX_BATCH} values on one line`)
    if (name.length === 0) return this.bad('name is empty after cleaning')
    if (name.length > MAX_ID_LENGTH) return this.bad(`name longer than ${MAX_ID_LENGTH} characters after cleaning`)
    this.id = name
    this.count = count
    return (this.kind = LineKind.timer)
  }

  /** Reads the tags of text[start..end) (comma-separated); returns a problem with a status tag, or ''. */
  private readTags(text: string, start: number, end: number): string {
    let t = start
    while (t <= end) {
      let tagEnd = find(text, COMMA, t, end)
      if (tagEnd < 0) tagEnd = end
      if (text.startsWith('status', t) && (tagEnd === t + 6 || text.charCodeAt(t + 6) === COLON)) {
        const status = readStatus(text, t + 7, tagEnd)
        if (status < 0) return `status tag must be an integer from 0 to ${MAX_STATUS}`
        if (this.status !== NO_STATUS && this.status !== status) return 'two different status tags'
        this.status = status
      }
      t = tagEnd + 1
    }
    return ''
  }

  private bad(reason: string): LineKind {
    this.reason = reason
    return (this.kind = LineKind.bad)
  }
}

/** The job event a cleaned counter name ends with (`.<event>`), if any. */
function jobSuffix(name: string): (typeof JOB_SUFFIXES)[number] | undefined {
  for (const job of JOB_SUFFIXES) if (name.endsWith(job.suffix)) return job
  return undefined
}

/**
 * The index of the first `code` in text[from..end), or -1. Bounded, unlike
 * indexOf: a search must never run past its line into the rest of a datagram,
 * or a datagram of many short bad lines would cost quadratic time.
 */
function find(text: string, code: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (text.charCodeAt(i) === code) return i
  return -1
}

/** The class of the type text[start..end). */
function classify(text: string, start: number, end: number): TypeClass {
  const length = end - start
  const a = length > 0 ? text.charCodeAt(start) : 0
  if (length === 1) {
    if (a === 104 || a === 100) return TypeClass.timer // h, d
    if (a === 99) return TypeClass.counter // c
    if (a === 103 || a === 115) return TypeClass.other // g, s
  } else if (length === 2 && a === 109 && text.charCodeAt(start + 1) === 115) {
    return TypeClass.timer // ms
  }
  return TypeClass.none
}

/** The index of the next "|" at or after i (or of a ":" too, when stopAtColon), or end. */
function skipTo(text: string, i: number, end: number, stopAtColon: boolean): number {
  while (i < end) {
    const c = text.charCodeAt(i)
    if (c === PIPE || (stopAtColon && c === COLON)) return i
    i++
  }
  return end
}

/** text[start..end) as a status: 1 to 3 digits, 0..999; -1 otherwise. */
function readStatus(text: string, start: number, end: number): number {
  if (end <= start || end - start > 3) return -1
  let status = 0
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c < DIGIT_0 || c > DIGIT_9) return -1
    status = status * 10 + (c - DIGIT_0)
  }
  return status
}
