import type { Metric } from '../store/metric.js'
import type { MetricStore } from '../store/metric-store.js'
import { MetricNotFoundError } from './errors.js'

/** The metric for a read; 404 when the id does not exist. */
export function requireMetric(store: MetricStore, id: string): Metric {
  const metric = store.get(id)
  if (metric === undefined) throw new MetricNotFoundError(id)
  return metric
}
