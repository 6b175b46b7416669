import type { Metric, MetricStore } from '../store/metric-store.js'
import { MetricLimitError, MetricNotFoundError } from './errors.js'

/** The metric for a write, created on first use; 429 when a new id would pass MAX_METRICS. */
export function acquireMetric(store: MetricStore, id: string): Metric {
  const metric = store.acquire(id)
  if (metric === undefined) throw new MetricLimitError(id, store.maxMetrics)
  return metric
}

/** The metric for a read; 404 when the id does not exist. */
export function requireMetric(store: MetricStore, id: string): Metric {
  const metric = store.get(id)
  if (metric === undefined) throw new MetricNotFoundError(id)
  return metric
}
