import { CounterBlock } from '../store/counter-block.js'

/** Cell layout of the StatsD door's counter block. */
const Slot = {
  packets: 0,
  lines: 1,
  samples: 2,
  badLines: 3,
  ignoredLines: 4,
  droppedLines: 5,
} as const
const WIDTH = 6

/** What GET /metrics reports under service.statsd: counts since the process started. */
export interface StatsdCounts {
  packets: number
  lines: number
  samples: number
  bad_lines: number
  ignored_lines: number
  dropped_lines: number
}

/**
 * Tallies of one datagram, or of one read from a TCP connection, kept as plain
 * numbers while its lines are applied and added to the shared cells once: a few
 * atomic adds per datagram instead of several per line.
 * lines = ok + bad + ignored + dropped; a line is ok when the store recorded it.
 */
export class LineTally {
  packets = 0
  lines = 0
  ok = 0
  samples = 0
  bad = 0
  ignored = 0
  dropped = 0

  clear(): void {
    this.packets = this.lines = this.ok = this.samples = this.bad = this.ignored = this.dropped = 0
  }
}

/**
 * The StatsD door's counters, in SharedArrayBuffer cells updated with Atomics
 * like the service's own (counter-block.ts).
 */
export class StatsdCounters {
  readonly block = CounterBlock.create(WIDTH)

  /** Adds a tally to the counters (cells whose tally is 0 are left alone). */
  add(tally: LineTally): void {
    const b = this.block
    if (tally.packets !== 0) b.add(Slot.packets, tally.packets)
    if (tally.lines !== 0) b.add(Slot.lines, tally.lines)
    if (tally.samples !== 0) b.add(Slot.samples, tally.samples)
    if (tally.bad !== 0) b.add(Slot.badLines, tally.bad)
    if (tally.ignored !== 0) b.add(Slot.ignoredLines, tally.ignored)
    if (tally.dropped !== 0) b.add(Slot.droppedLines, tally.dropped)
  }

  counts(): StatsdCounts {
    const b = this.block
    return {
      packets: b.get(Slot.packets),
      lines: b.get(Slot.lines),
      samples: b.get(Slot.samples),
      bad_lines: b.get(Slot.badLines),
      ignored_lines: b.get(Slot.ignoredLines),
      dropped_lines: b.get(Slot.droppedLines),
    }
  }
}
