import { setImmediate as yieldToEventLoop } from 'node:timers/promises'

/**
 * A long read (every metric of GET /metrics, a series of thousands of steps)
 * costs tens of ms of CPU. It runs in slices of about SLICE_MS, yielding to the
 * event loop between slices so that writers waiting on other connections are
 * served in between instead of stalling. Each visit runs whole, synchronously:
 * what it reads is consistent, whatever happens between two visits.
 */
const SLICE_MS = 4

/** Calls visit for each item in order, yielding to the event loop after each slice of about SLICE_MS. */
export async function forEachInSlices<T>(items: Iterable<T>, visit: (item: T) => void): Promise<void> {
  let sliceStart = performance.now()
  for (const item of items) {
    visit(item)
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToEventLoop()
      sliceStart = performance.now()
    }
  }
}
