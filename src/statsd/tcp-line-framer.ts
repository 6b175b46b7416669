/** The longest TCP line, in bytes before its "\n": a longer one is bad and closes its connection. */
export const MAX_TCP_LINE_BYTES = 64 * 1024
/** How much of an over-long line is kept for the log: 4 bytes for each of the 200 characters logged, and more. */
const OVER_LONG_HEAD_BYTES = 1024

/** The room for waiting bytes a connection keeps between lines; more is dropped once it is empty again. */
const KEPT_ROOM_BYTES = 4096

const LF = 10

/**
 * Cuts one TCP connection's byte stream into whole lines. A line ends with "\n";
 * the bytes after the last one wait for the next chunk (as bytes, so a UTF-8
 * character split between chunks decodes whole). A line longer than
 * MAX_TCP_LINE_BYTES, finished or not, sets `overLong`: the connection's lines
 * stop there, and its start is kept for the log.
 *
 * The waiting bytes go into a buffer that doubles as needed (up to the line
 * limit), so a line that trickles in a byte at a time costs one copy of each
 * byte, not a copy of the whole line so far per chunk (quadratic: 65,536
 * one-byte chunks took 1.2 s of event loop).
 *
 *     pending: [ bytes after the last "\n" | free ]
 *              0                   pendingLength  pending.length <= MAX_TCP_LINE_BYTES
 */
export class TcpLineFramer {
  /** True once a line over the limit was met; push returns the lines before it, then nothing is taken. */
  overLong = false
  private pending = Buffer.alloc(0)
  private pendingLength = 0

  /** Takes a chunk and returns the text of the whole lines it completes ('' when none). */
  push(chunk: Buffer): string {
    if (this.overLong) return ''
    const last = chunk.lastIndexOf(LF)
    if (last < 0) {
      this.keep(chunk)
      return ''
    }
    let text = ''
    let from = 0
    if (this.pendingLength > 0) {
      // The waiting line ends at the chunk's first "\n": joined as bytes, then decoded.
      from = chunk.indexOf(LF) + 1
      this.keep(chunk.subarray(0, from - 1))
      if (this.overLong) return ''
      text = `${this.pending.toString('utf8', 0, this.pendingLength)}\n`
      this.pendingLength = 0
    }
    const whole = this.wholeLinesEnd(chunk, from, last + 1)
    if (whole > from) text += chunk.toString('utf8', from, whole)
    if (this.overLong) this.keepHead(chunk.subarray(whole, last + 1))
    else this.keep(chunk.subarray(last + 1))
    // A long line's room is not kept for the connection's life (idle ones stay open).
    if (this.pendingLength === 0 && this.pending.length > KEPT_ROOM_BYTES) this.pending = Buffer.alloc(0)
    return text
  }

  /** The start of the line the connection stopped in: unfinished when it closed, or over-long ('' when none), cut to `maxChars`. */
  unfinished(maxChars: number): string {
    const text = this.pending.toString('utf8', 0, this.pendingLength)
    this.pendingLength = 0
    return text.length > maxChars ? text.slice(0, maxChars) : text
  }

  /**
   * The end of the whole lines in chunk[from, end), which ends with "\n": `end`,
   * or the start of the first line over the limit (then `overLong` is set).
   */
  private wholeLinesEnd(chunk: Buffer, from: number, end: number): number {
    // Only a run this long can hold an over-long line: look at each line's length.
    if (end - from <= MAX_TCP_LINE_BYTES) return end
    for (let at = from; at < end;) {
      const lineBreak = chunk.indexOf(LF, at)
      if (lineBreak - at > MAX_TCP_LINE_BYTES) {
        this.overLong = true
        return at
      }
      at = lineBreak + 1
    }
    return end
  }

  /** Appends bytes of an unfinished line; past the limit, the line is over-long and only its start is kept. */
  private keep(bytes: Buffer): void {
    const needed = this.pendingLength + bytes.length
    if (needed > MAX_TCP_LINE_BYTES) {
      this.overLong = true
      this.pendingLength = Math.min(this.pendingLength, OVER_LONG_HEAD_BYTES)
      this.keepHead(bytes)
      return
    }
    if (needed > this.pending.length) {
      // Its own memory (not a slice of a chunk or of Node's shared pool, which it would keep alive).
      const grown = Buffer.allocUnsafeSlow(Math.min(MAX_TCP_LINE_BYTES, Math.max(needed, 2 * this.pending.length, 64)))
      this.pending.copy(grown, 0, 0, this.pendingLength)
      this.pending = grown
    }
    bytes.copy(this.pending, this.pendingLength)
    this.pendingLength = needed
  }

  /** Appends what fits of `bytes` to the kept start of an over-long line (OVER_LONG_HEAD_BYTES at most). */
  private keepHead(bytes: Buffer): void {
    if (this.pending.length < OVER_LONG_HEAD_BYTES) {
      const grown = Buffer.allocUnsafeSlow(OVER_LONG_HEAD_BYTES)
      this.pending.copy(grown, 0, 0, this.pendingLength)
      this.pending = grown
    }
    this.pendingLength += bytes.copy(this.pending, this.pendingLength, 0, Math.min(bytes.length, OVER_LONG_HEAD_BYTES - this.pendingLength))
  }
}
