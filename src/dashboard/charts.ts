// uPlot charts (the library is loaded by index.html as the global `uPlot`, from its npm package).
import type { SeriesPoint } from './api.js'
import { formatCount, formatNs } from './format.js'

const LATENCY_COLORS: Record<string, string> = { p50: '#2f9e44', p95: '#f08c00', p99: '#e03131' }
/** Extra quantiles, in the order they are asked for. */
const EXTRA_COLORS = ['#7048e8', '#1c7ed6', '#0c8599', '#c2255c', '#5c940d', '#495057']
const COUNT_COLOR = '#1c7ed6'
const ERROR_COLOR = '#e03131'
const SPARK_COLOR = '#e03131'

const nsValue = (_u: uPlot, v: number | null) => formatNs(v)
const countValue = (_u: uPlot, v: number | null) => (v === null ? '–' : formatCount(v))
const nsAxis: uPlot.Axis = { size: 72, values: (_u, splits) => splits.map((v) => formatNs(v)) }

/** Seconds since the epoch, as uPlot's time scale wants them. */
function times(points: readonly SeriesPoint[]): number[] {
  return points.map((p) => p.t_ms / 1000)
}

/** p50, p95, p99 and the extra quantiles per step; gaps where a step has no samples. */
export class LatencyChart {
  readonly plot: uPlot
  readonly quantiles: readonly string[]

  constructor(container: HTMLElement, quantiles: readonly string[], points: readonly SeriesPoint[]) {
    this.quantiles = quantiles
    const series: uPlot.Series[] = [
      {},
      ...['p50', 'p95', 'p99'].map((label) => ({ label, stroke: LATENCY_COLORS[label], width: 2, value: nsValue })),
      ...quantiles.map((q, i) => ({ label: `q${q}`, stroke: EXTRA_COLORS[i % EXTRA_COLORS.length], width: 1.5, dash: [6, 3], value: nsValue })),
    ]
    const options: uPlot.Options = {
      width: chartWidth(container),
      height: 240,
      series,
      axes: [{}, nsAxis],
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
    }
    this.plot = new uPlot(options, this.data(points), container)
  }

  update(points: readonly SeriesPoint[]): void {
    this.plot.setData(this.data(points))
  }

  private data(points: readonly SeriesPoint[]): uPlot.AlignedData {
    return [
      times(points),
      points.map((p) => p.p50_ns),
      points.map((p) => p.p95_ns),
      points.map((p) => p.p99_ns),
      ...this.quantiles.map((q) => points.map((p) => p.quantiles?.[q] ?? null)),
    ]
  }
}

/** Samples and errors per step, as bars. */
export class CountChart {
  readonly plot: uPlot

  constructor(container: HTMLElement, points: readonly SeriesPoint[]) {
    const bars = uPlot.paths.bars?.({ size: [0.8, 40] })
    const options: uPlot.Options = {
      width: chartWidth(container),
      height: 160,
      series: [
        {},
        // Fill only: a stroke would draw every empty step as a line at 0.
        { label: 'samples', stroke: COUNT_COLOR, width: 0, fill: COUNT_COLOR, paths: bars, points: { show: false }, value: countValue },
        { label: 'errors', stroke: ERROR_COLOR, width: 0, fill: ERROR_COLOR, paths: bars, points: { show: false }, value: countValue },
      ],
      axes: [{}, { size: 72, values: (_u, splits) => splits.map((v) => formatCount(v)) }],
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    }
    this.plot = new uPlot(options, CountChart.data(points), container)
  }

  update(points: readonly SeriesPoint[]): void {
    this.plot.setData(CountChart.data(points))
  }

  private static data(points: readonly SeriesPoint[]): uPlot.AlignedData {
    return [times(points), points.map((p) => p.count), points.map((p) => p.errors)]
  }
}

/** A bare p99 line for an overview row: no axes, legend or cursor. */
export class Sparkline {
  readonly plot: uPlot

  constructor(container: HTMLElement, points: readonly SeriesPoint[]) {
    const options: uPlot.Options = {
      width: 120,
      height: 28,
      // Points too, so that a step alone between empty ones still shows.
      series: [{}, { stroke: SPARK_COLOR, width: 1.5, points: { show: true, size: 3, width: 0, fill: SPARK_COLOR } }],
      axes: [{ show: false }, { show: false }],
      legend: { show: false },
      cursor: { show: false },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    }
    this.plot = new uPlot(options, Sparkline.data(points), container)
  }

  update(points: readonly SeriesPoint[]): void {
    this.plot.setData(Sparkline.data(points))
  }

  private static data(points: readonly SeriesPoint[]): uPlot.AlignedData {
    return [times(points), points.map((p) => p.p99_ns)]
  }
}

function chartWidth(container: HTMLElement): number {
  return Math.max(320, container.clientWidth)
}

/** Keeps charts as wide as their containers when the window is resized. */
export function fitWidth(plot: uPlot, container: HTMLElement): void {
  const width = chartWidth(container)
  if (width !== plot.width) plot.setSize({ width, height: plot.height })
}
