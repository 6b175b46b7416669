import type { IngestRefusal } from '../store/ingest.js'
import type { MetricStore } from '../store/metric-store.js'
import type { BadLineLog, LineSource } from './bad-line-log.js'
import { LineKind, LineParser } from './line-parser.js'
import { LineTally, type StatsdCounters } from './statsd-counters.js'

const CR = 13

/**
 * Applies StatsD lines to the store through the domain ingest API, each line
 * whole or not at all: the parser checks every value of a line first, then one
 * ingestSamples or ingestJobEvents call records it. A refusal makes the line bad,
 * except a new id beyond MAX_METRICS, which drops it. A bad line never stops the
 * lines after it. Empty lines (a trailing "\n", "\r\n" alone) are not lines.
 */
export class LineIngest {
  private readonly parser = new LineParser()
  private readonly tally = new LineTally()

  constructor(
    private readonly store: MetricStore,
    private readonly counters: StatsdCounters,
    private readonly badLines: BadLineLog,
  ) {}

  /**
   * Applies every line of text (a datagram, or whole lines of a TCP stream), then
   * adds the counts to the door's counters. `packets`: 1 for a datagram, 0 for TCP.
   */
  ingest(text: string, packets: number, transport: 'udp' | 'tcp', source: LineSource): void {
    const tally = this.tally
    tally.clear()
    tally.packets = packets
    // The lines arrived together: one clock reading stamps them all.
    this.store.arrivingTogether(() => this.applyLines(text, transport, source))
    this.counters.add(tally)
  }

  /** Counts one line that never reached the parser (a TCP line over the length limit, or cut off by a close) as bad. */
  badLine(reason: string, text: string, transport: 'udp' | 'tcp', source: LineSource): void {
    const tally = this.tally
    tally.clear()
    tally.lines = 1
    tally.bad = 1
    this.badLines.report(reason, text, 0, text.length, transport, source)
    this.counters.add(tally)
  }

  private applyLines(text: string, transport: 'udp' | 'tcp', source: LineSource): void {
    const length = text.length
    let start = 0
    while (start < length) {
      let lineBreak = text.indexOf('\n', start)
      if (lineBreak < 0) lineBreak = length
      const end = lineBreak > start && text.charCodeAt(lineBreak - 1) === CR ? lineBreak - 1 : lineBreak
      if (end > start) {
        this.tally.lines++
        this.apply(text, start, end, transport, source)
      }
      start = lineBreak + 1
    }
  }

  private apply(text: string, start: number, end: number, transport: 'udp' | 'tcp', source: LineSource): void {
    const parser = this.parser
    const tally = this.tally
    let result: number | IngestRefusal
    switch (parser.parse(text, start, end)) {
      case LineKind.ignored:
        tally.ignored++
        return
      case LineKind.bad:
        tally.bad++
        this.badLines.report(parser.reason, text, start, end, transport, source)
        return
      case LineKind.timer:
        result =
          parser.count === 1
            ? this.store.ingestSamples(parser.id, parser.values[0], parser.status)
            : this.store.ingestSamples(parser.id, parser.values.subarray(0, parser.count), parser.status)
        if (typeof result === 'number') tally.samples += result
        break
      case LineKind.job:
        result = this.store.ingestJobEvents(parser.id, parser.event, parser.jobCount)
        break
    }
    if (typeof result === 'number') {
      tally.ok++
    } else if (result.reason === 'metric-limit') {
      tally.dropped++
    } else {
      tally.bad++
      this.badLines.report(result.message, text, start, end, transport, source)
    }
  }
}
