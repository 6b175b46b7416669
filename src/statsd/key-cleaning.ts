/**
 * StatsD names become metric ids the way the reference daemon (statsd/statsd)
 * cleans keys: runs of whitespace become `_`, `/` becomes `-`, then every
 * character outside `A-Z a-z 0-9 _ . -` is removed. Every cleaned key passes the
 * store's id charset (which also allows `:`, a separator in StatsD lines).
 */

/** Character codes below 128 that a clean key may hold. */
const KEPT = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-') KEPT[c.charCodeAt(0)] = 1

const WHITESPACE_RUNS = /\s+/g
const SLASHES = /\//g
const REMOVED = /[^A-Za-z0-9_.-]/g

/** The cleaned key of text[start..end); may be empty. A key that needs no cleaning costs one slice. */
export function cleanKey(text: string, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128 || KEPT[c] === 0) return cleanSlowly(text.slice(start, end))
  }
  return text.slice(start, end)
}

function cleanSlowly(key: string): string {
  return key.replace(WHITESPACE_RUNS, '_').replace(SLASHES, '-').replace(REMOVED, '')
}
