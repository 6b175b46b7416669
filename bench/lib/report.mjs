// Result rows, target checks and the text table.
import { median } from './stats.mjs'

/**
 * A target is checked either on the service's median ('service') or on the
 * service/baseline ratio of medians ('ratio').
 *   { on: 'ratio', op: '>=', value: 0.95, text: '>= 0.95× baseline' }
 *   { on: 'service', op: '<=', value: 150, text: '<= 150 ms' }
 */
export function check(target, service, ratio) {
  if (!target) return null
  const x = target.on === 'ratio' ? ratio : service
  if (!Number.isFinite(x)) return false
  switch (target.op) {
    case '>=':
      return x >= target.value
    case '<=':
      return x <= target.value
    case '<':
      return x < target.value
    case '>':
      return x > target.value
    default:
      throw new Error(`unknown op ${target.op}`)
  }
}

/**
 * One table row from per-round measurements. `service` and `baseline` are arrays
 * of per-round values (baseline may be omitted); the row reports their medians
 * and the ratio of medians.
 */
export function makeRow({ scenario, metric, unit, service, baseline, baselineIs, target, note, smoke }) {
  const s = median(service)
  const b = baseline && baseline.length > 0 ? median(baseline) : null
  const ratio = b === null || b === 0 ? null : s / b
  return {
    scenario,
    metric,
    unit,
    service: s,
    baseline: b,
    ratio,
    target: target ?? null,
    ok: smoke ? null : check(target, s, ratio),
    rounds: { service, baseline: baseline ?? [] },
    ...(baselineIs ? { baseline_is: baselineIs } : {}),
    ...(note ? { note } : {}),
  }
}

export function fmt(x) {
  if (x === null || x === undefined) return '-'
  if (typeof x !== 'number') return String(x)
  if (!Number.isFinite(x)) return String(x)
  const abs = Math.abs(x)
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US')
  if (abs >= 100) return x.toFixed(0)
  if (abs >= 10) return x.toFixed(1)
  if (abs >= 1) return x.toFixed(2)
  if (abs === 0) return '0'
  return x.toPrecision(3)
}

export function formatTable(rows) {
  const header = ['scenario', 'metric', 'service', 'baseline', 'ratio', 'target', 'ok']
  const body = rows.map((r) => [
    r.scenario,
    r.unit ? `${r.metric} (${r.unit})` : r.metric,
    fmt(r.service),
    fmt(r.baseline),
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}×`,
    r.target ? r.target.text : '-',
    r.ok === null ? '-' : r.ok ? 'yes' : 'NO',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const right = new Set([2, 3, 4])
  const line = (cells) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}
