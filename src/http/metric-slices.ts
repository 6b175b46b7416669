import type { Metric, MetricStore } from '../store/metric-store.js'

/**
 * A full read of many large rings costs tens of ms of CPU. It runs in slices of
 * about SLICE_MS, yielding to the event loop between slices so that writers
 * waiting on other connections are served in between instead of stalling.
 */
const SLICE_MS = 4

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Calls visit for every metric in id order, in time slices. A metric deleted
 * while an earlier slice yielded is left out. Every full read (the JSON of
 * GET /metrics and the Prometheus/OpenMetrics exposition) goes through here.
 */
export async function forEachMetricInSlices(store: MetricStore, visit: (metric: Metric) => void): Promise<void> {
  let sliceStart = performance.now()
  for (const metric of store.sorted()) {
    if (store.get(metric.id) !== metric) continue
    visit(metric)
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToEventLoop()
      sliceStart = performance.now()
    }
  }
}
