/** The longest TCP line, in bytes before its "\n": a longer one is bad and closes its connection. */
export const MAX_TCP_LINE_BYTES = 64 * 1024

const LF = 10

/**
 * Cuts one TCP connection's byte stream into whole lines. A line ends with "\n";
 * the bytes after the last one wait for the next chunk (as bytes, so a UTF-8
 * character split between chunks decodes whole). A line longer than
 * MAX_TCP_LINE_BYTES, finished or not, sets `overLong`: the connection's lines
 * stop there.
 */
export class TcpLineFramer {
  /** True once a line over the limit was met; push returns the lines before it, then nothing is taken. */
  overLong = false
  private pending: Buffer | undefined

  /** Takes a chunk and returns the text of the whole lines it completes ('' when none). */
  push(chunk: Buffer): string {
    if (this.overLong) return ''
    const bytes = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    this.pending = undefined
    const last = bytes.lastIndexOf(LF)
    let whole = last + 1
    if (whole > MAX_TCP_LINE_BYTES) {
      // Only a run this long can hold an over-long line: look at each line's length.
      for (let from = 0; from < last + 1;) {
        const lineBreak = bytes.indexOf(LF, from)
        if (lineBreak - from > MAX_TCP_LINE_BYTES) {
          whole = from
          this.overLong = true
          break
        }
        from = lineBreak + 1
      }
    }
    if (!this.overLong) {
      const rest = bytes.length - (last + 1)
      if (rest > MAX_TCP_LINE_BYTES) this.overLong = true
      // A copy: a slice would keep the whole chunk (or Node's shared pool) alive.
      else if (rest > 0) this.pending = Buffer.from(bytes.subarray(last + 1))
    }
    return whole > 0 ? bytes.toString('utf8', 0, whole) : ''
  }

  /** The start of a line the connection closed without finishing ('' when none), cut to `maxChars`. */
  unfinished(maxChars: number): string {
    const pending = this.pending
    this.pending = undefined
    return pending === undefined ? '' : pending.toString('utf8', 0, Math.min(pending.length, maxChars))
  }
}
