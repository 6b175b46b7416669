/** The logger calls the StatsD door makes (pino's, through the service's root logger). */
export interface DoorLog {
  level: string
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  debug(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** Where lines came from, as a UDP datagram's rinfo or a TCP connection names it. */
export interface LineSource {
  address: string
  port: number
}

/** Bad lines get one warning a minute; the rest go to debug. */
const WARN_EVERY_MS = 60_000
/** A logged line is cut to this many characters. */
const LOGGED_LINE_CHARS = 200

/**
 * Logs bad StatsD lines so that a flood of bad packets cannot become a flood of
 * logs: the first bad line of each minute at warn (with how many came since the
 * last warning), every other one at debug only. Below debug, a bad line that is
 * not warned about costs nothing but a count.
 */
export class BadLineLog {
  private nextWarnAt = -Infinity
  private sinceWarning = 0

  constructor(
    private readonly log: DoorLog,
    private readonly now: () => number = () => performance.now(),
  ) {}

  report(reason: string, text: string, start: number, end: number, transport: 'udp' | 'tcp', source: LineSource): void {
    const t = this.now()
    const warn = t >= this.nextWarnAt
    if (!warn && this.log.level !== 'debug' && this.log.level !== 'trace') {
      this.sinceWarning++
      return
    }
    const fields = { reason, line: text.slice(start, Math.min(end, start + LOGGED_LINE_CHARS)), transport, from: `${source.address}:${source.port}` }
    if (warn) {
      this.log.warn(
        { ...fields, bad_lines_since_last_warning: this.sinceWarning },
        `StatsD: bad line (${reason}); further bad lines within a minute are logged at debug`,
      )
      this.nextWarnAt = t + WARN_EVERY_MS
      this.sinceWarning = 0
    } else {
      this.sinceWarning++
      this.log.debug(fields, `StatsD: bad line (${reason})`)
    }
  }
}
