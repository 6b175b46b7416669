import { Registry, collectDefaultMetrics } from 'prom-client'
import { type FamilyType, type TextFormat, familyHeader, formatValue, labelSet } from './text-format.js'

/**
 * Process metrics (CPU, memory, heap, event-loop lag, GC, handles, version) come
 * from prom-client's default collectors rather than being written by hand. They
 * describe the process, not an app instance, so one private registry serves every
 * app in the process, started with the first app (startProcessMetrics) so that
 * the first scrape already has event-loop samples to report.
 *
 * prom-client's own text output is not used: its registry switches between the two
 * formats by mutating counter names, and it writes NaN as "Nan". Its collected
 * values (getMetricsAsJSON) go through the same writer as the service's families.
 */
let registry: Registry | undefined

/** What getMetricsAsJSON returns per family (prom-client does not export this type). */
interface CollectedFamily {
  name: string
  help: string
  type: string
  values: Array<{
    value: number
    labels: Record<string, string | number | undefined>
    /** Histograms: name_bucket, name_sum, name_count. */
    metricName?: string
    /** Histograms: the labels of the series, apart from `le`. */
    sharedLabels?: Record<string, string | number | undefined>
  }>
}

/** Starts the collectors (once per process), so the first scrape already has event-loop samples. */
export function startProcessMetrics(): void {
  processRegistry()
}

function processRegistry(): Registry {
  if (registry === undefined) {
    registry = new Registry()
    collectDefaultMetrics({ register: registry })
  }
  return registry
}

/**
 * prom-client also exports nodejs_active_{handles,requests,resources}_total as
 * gauges; a `_total` suffix on a non-counter breaks Prometheus naming (promtool
 * flags it), and each is only the sum over the `type` label of the family without
 * the suffix, so such families are left out.
 */
function excluded(family: CollectedFamily): boolean {
  return family.type !== 'counter' && family.name.endsWith('_total')
}

const TYPES: ReadonlyMap<string, FamilyType> = new Map([
  ['counter', 'counter'],
  ['gauge', 'gauge'],
  ['histogram', 'histogram'],
  ['summary', 'summary'],
])

/** The process families in the given format, sorted by name. */
export async function renderProcessMetrics(format: TextFormat): Promise<string> {
  const families = (await processRegistry().getMetricsAsJSON()) as unknown as CollectedFamily[]
  families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  let out = ''
  for (const family of families) {
    const type = TYPES.get(family.type)
    if (type === undefined || excluded(family) || family.values.length === 0) continue
    out += familyHeader(format, family.name, type, family.help)
    for (const v of family.values) {
      // Histograms: the series' labels (e.g. kind) first, `le` last.
      const pairs: Array<readonly [string, string]> = []
      for (const [k, x] of Object.entries({ ...v.sharedLabels, ...v.labels })) {
        if (x !== undefined) pairs.push([k, typeof x === 'number' ? formatValue(x) : x])
      }
      out += `${v.metricName ?? family.name}${labelSet(pairs)} ${formatValue(v.value)}\n`
    }
  }
  return out
}
