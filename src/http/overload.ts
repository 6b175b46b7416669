import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'

/** The histogram's own resolution, in ms: a timer that fires this often measures how late it runs. */
const RESOLUTION_MS = 10
/** How often the mean delay is taken (and the histogram reset). */
const SAMPLE_MS = 250

/**
 * Whether the event loop is overloaded: the mean event-loop delay over the last
 * sample (250 ms) above `maxDelayMs` (0: never). The same measure as
 * @fastify/under-pressure's, kept here so that checking it costs one field
 * read in the request gate (request-gate.ts) rather than a plugin hook of its
 * own per request, and no heap statistics are read four times a second.
 */
export class OverloadMonitor {
  /** Read per request; updated every SAMPLE_MS. */
  overloaded = false
  private readonly histogram: IntervalHistogram | undefined
  private readonly timer: NodeJS.Timeout | undefined

  constructor(private readonly maxDelayMs: number) {
    if (maxDelayMs <= 0) return
    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    histogram.enable()
    this.histogram = histogram
    this.timer = setInterval(() => {
      // The timer's own period is not delay: subtract the resolution, as under-pressure does.
      this.overloaded = Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS) > this.maxDelayMs
      histogram.reset()
    }, SAMPLE_MS).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.histogram?.disable()
    this.overloaded = false
  }
}
