// The overview at #/: one row per metric from GET /metrics, sortable by every column,
// filtered by id as you type, with a p99 sparkline per row from GET /metrics/:id/series.
import type { Api, MetricList, Series, ServiceStatus, Snapshot } from './api.js'
import { Sparkline } from './charts.js'
import { el, showNs } from './dom.js'
import { DASH, formatCount, formatPercent, formatRate, threeDigits } from './format.js'
import { metricPath, query, routeHash } from './route.js'

type SortKey = 'id' | 'count' | 'rate' | 'p50' | 'p95' | 'p99' | 'max' | 'error_rate' | 'in_progress' | 'trend'
type Direction = 'asc' | 'desc'

interface Column {
  key: SortKey
  label: string
  title: string
  value(row: Row): number | string | null
}

const COLUMNS: readonly Column[] = [
  { key: 'id', label: 'id', title: 'Metric id', value: (r) => r.snapshot.id },
  { key: 'count', label: 'count', title: 'Samples in the window', value: (r) => r.snapshot.count },
  { key: 'rate', label: 'rate', title: 'Samples per second over the window (count / window)', value: (r) => r.rate },
  { key: 'p50', label: 'p50', title: 'Median latency in the window', value: (r) => r.snapshot.p50_ns },
  { key: 'p95', label: 'p95', title: '95th percentile latency in the window', value: (r) => r.snapshot.p95_ns },
  { key: 'p99', label: 'p99', title: '99th percentile latency in the window', value: (r) => r.snapshot.p99_ns },
  { key: 'max', label: 'max', title: 'Largest latency in the window', value: (r) => r.snapshot.max_ns },
  { key: 'error_rate', label: 'errors', title: 'Share of samples with a status that are errors (status 0 or >= 500)', value: (r) => r.snapshot.error_rate },
  { key: 'in_progress', label: 'jobs running', title: 'Jobs in progress: started − completed − failed', value: (r) => r.snapshot.jobs.in_progress },
  { key: 'trend', label: 'p99 per step', title: 'p99 of each step over the window; sorts by its highest step', value: (r) => r.sparkPeak },
]

/** A sparkline is fetched again at most this often: at the default refresh, once in five refreshes. */
export const SPARKLINE_EVERY_MS = 10_000
/** Points per sparkline (the window in this many steps). */
export const SPARKLINE_POINTS = 30
/** Sparkline requests in flight at once. */
const SPARKLINE_CONCURRENCY = 4
/** The trend cell's tooltip for the ids "." and "..". */
const NO_SERIES_PATH = 'no sparkline: a browser cannot ask for the series of "." or ".." (URLs resolve them as folder names)'

/** One metric's row. Kept across refreshes (and moved when sorting), so its sparkline is drawn once and updated. */
class Row {
  readonly tr: HTMLTableRowElement
  readonly cells: Record<SortKey, HTMLTableCellElement>
  /** Where its series is read; null for the ids a browser cannot name in a URL (see metricPath). */
  readonly seriesPath: string | null
  snapshot: Snapshot
  rate = 0
  spark: Sparkline | null = null
  sparkPeak: number | null = null
  sparkFetchedAt = Number.NEGATIVE_INFINITY
  sparkFetching = false
  visible = false

  constructor(snapshot: Snapshot) {
    this.snapshot = snapshot
    this.seriesPath = metricPath(snapshot.id, '/series')
    const cells = {} as Record<SortKey, HTMLTableCellElement>
    for (const column of COLUMNS) cells[column.key] = el('td', { class: column.key === 'id' ? 'id' : 'num', attrs: { 'data-col': column.key } })
    cells.trend.className = 'trend'
    cells.id.append(el('a', { text: snapshot.id, attrs: { href: routeHash({ view: 'metric', id: snapshot.id, params: new URLSearchParams() }) } }))
    this.cells = cells
    this.tr = el(
      'tr',
      { attrs: { 'data-id': snapshot.id } },
      COLUMNS.map((c) => cells[c.key]),
    )
    this.clearSparkline()
  }

  update(snapshot: Snapshot): void {
    this.snapshot = snapshot
    const { cells } = this
    this.rate = snapshot.count / (snapshot.window_ms / 1000)
    cells.count.textContent = formatCount(snapshot.count)
    cells.count.dataset.value = String(snapshot.count)
    cells.rate.textContent = formatRate(this.rate)
    cells.rate.dataset.value = String(this.rate)
    cells.rate.title = `${formatCount(snapshot.count)} samples in ${formatCount(snapshot.window_ms / 1000)} s`
    showNs(cells.p50, snapshot.p50_ns)
    showNs(cells.p95, snapshot.p95_ns)
    showNs(cells.p99, snapshot.p99_ns)
    showNs(cells.max, snapshot.max_ns)
    const withStatus = Object.values(snapshot.statuses).reduce((a, b) => a + b, 0)
    cells.error_rate.textContent = formatPercent(snapshot.error_rate)
    cells.error_rate.title =
      snapshot.error_rate === null
        ? 'no samples with a status in the window'
        : `${formatCount(snapshot.errors)} errors of ${formatCount(withStatus)} samples with a status (${snapshot.error_rate * 100}%)`
    if (snapshot.error_rate === null) cells.error_rate.removeAttribute('data-value')
    else cells.error_rate.dataset.value = String(snapshot.error_rate)
    cells.in_progress.textContent = formatCount(snapshot.jobs.in_progress)
    cells.in_progress.dataset.value = String(snapshot.jobs.in_progress)
    cells.in_progress.title = `created ${snapshot.jobs.created}, started ${snapshot.jobs.started}, completed ${snapshot.jobs.completed}, failed ${snapshot.jobs.failed}, retried ${snapshot.jobs.retried}`
    if (snapshot.count === 0) this.clearSparkline()
  }

  showSparkline(series: Series): void {
    const peaks = series.points.map((p) => p.p99_ns).filter((v): v is number => v !== null)
    this.sparkPeak = peaks.length === 0 ? null : Math.max(...peaks)
    const cell = this.cells.trend
    if (this.sparkPeak === null) return this.clearSparkline()
    cell.title = `p99 per ${threeDigits(series.step_ms / 1000)} s step; highest ${this.sparkPeak.toLocaleString('en-US')} ns`
    cell.dataset.peakNs = String(this.sparkPeak)
    if (this.spark === null) {
      cell.replaceChildren()
      this.spark = new Sparkline(cell, series.points)
    } else {
      this.spark.update(series.points)
    }
  }

  clearSparkline(): void {
    this.spark?.plot.destroy()
    this.spark = null
    this.sparkPeak = null
    this.sparkFetchedAt = Number.NEGATIVE_INFINITY
    this.cells.trend.replaceChildren(DASH)
    this.cells.trend.title = this.seriesPath === null ? NO_SERIES_PATH : 'no samples in the window'
    this.cells.trend.removeAttribute('data-peak-ns')
  }
}

export class OverviewView {
  readonly root: HTMLElement
  readonly #tbody: HTMLTableSectionElement
  readonly #headers = new Map<SortKey, HTMLTableCellElement>()
  readonly #filterInput: HTMLInputElement
  readonly #counts: HTMLElement
  readonly #rows = new Map<string, Row>()
  readonly #observer: IntersectionObserver
  #sortKey: SortKey = 'id'
  #direction: Direction = 'asc'
  #windowMs = 0
  #held = 0
  #loaded = false
  #sparklinesInFlight = 0
  #destroyed = false

  constructor(
    private readonly api: Api,
    private readonly onService: (service: ServiceStatus) => void,
    params: URLSearchParams,
  ) {
    this.#filterInput = el('input', {
      attrs: { type: 'search', id: 'filter', placeholder: 'Filter ids', 'aria-label': 'Filter metric ids', autocomplete: 'off' },
    })
    this.#filterInput.addEventListener('input', () => {
      this.#arrange()
      this.#saveState()
    })
    this.#counts = el('p', { class: 'counts', attrs: { id: 'counts', 'aria-live': 'polite' } })
    const headerRow = el(
      'tr',
      {},
      COLUMNS.map((column) => this.#header(column)),
    )
    this.#tbody = el('tbody')
    this.root = el('section', { class: 'overview', attrs: { 'aria-label': 'Metrics' } }, [
      el('div', { class: 'toolbar' }, [this.#filterInput, this.#counts]),
      el('table', { class: 'metrics', attrs: { id: 'metrics' } }, [el('thead', {}, [headerRow]), this.#tbody]),
    ])
    this.#observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const id = (entry.target as HTMLElement).dataset.id
        const row = id === undefined ? undefined : this.#rows.get(id)
        if (row !== undefined) row.visible = entry.isIntersecting
      }
      this.#fetchSparklines()
    })
    this.apply(params)
  }

  /** Sort and filter from the URL (reload, back/forward). */
  apply(params: URLSearchParams): void {
    const sort = params.get('sort')
    const column = COLUMNS.find((c) => c.key === sort)
    this.#sortKey = column?.key ?? 'id'
    this.#direction = params.get('dir') === 'desc' ? 'desc' : params.get('dir') === 'asc' ? 'asc' : defaultDirection(this.#sortKey)
    this.#filterInput.value = params.get('q') ?? ''
    this.#arrange()
  }

  async refresh(): Promise<void> {
    const list = await this.api.get<MetricList>('/metrics')
    if (this.#destroyed) return
    this.onService(list.service)
    this.#windowMs = list.window_ms
    this.#held = list.service.metrics
    const seen = new Set<string>()
    for (const snapshot of list.metrics) {
      seen.add(snapshot.id)
      let row = this.#rows.get(snapshot.id)
      if (row === undefined) {
        row = new Row(snapshot)
        this.#rows.set(snapshot.id, row)
        this.#observer.observe(row.tr)
      }
      row.update(snapshot)
    }
    for (const [id, row] of this.#rows) {
      if (seen.has(id)) continue
      this.#observer.unobserve(row.tr)
      row.clearSparkline()
      row.tr.remove()
      this.#rows.delete(id)
    }
    this.#loaded = true
    this.#arrange()
    this.#fetchSparklines()
  }

  destroy(): void {
    this.#destroyed = true
    this.#observer.disconnect()
    for (const row of this.#rows.values()) row.clearSparkline()
  }

  #header(column: Column): HTMLTableCellElement {
    const button = el('button', { text: column.label, title: `${column.title}. Click to sort.`, attrs: { type: 'button', 'data-sort': column.key } })
    button.addEventListener('click', () => {
      if (this.#sortKey === column.key) this.#direction = this.#direction === 'asc' ? 'desc' : 'asc'
      else {
        this.#sortKey = column.key
        this.#direction = defaultDirection(column.key)
      }
      this.#arrange()
      this.#saveState()
    })
    const th = el('th', { class: column.key === 'id' ? 'id' : 'num', attrs: { scope: 'col' } }, [button])
    this.#headers.set(column.key, th)
    return th
  }

  /** Applies the filter and the sort to the rows, moving them only when the order changed. */
  #arrange(): void {
    const needle = this.#filterInput.value.trim().toLowerCase()
    const column = COLUMNS.find((c) => c.key === this.#sortKey) ?? COLUMNS[0]
    const sign = this.#direction === 'asc' ? 1 : -1
    const rows = [...this.#rows.values()].sort((a, b) => compare(column.value(a), column.value(b), sign) || compare(a.snapshot.id, b.snapshot.id, 1))
    let shown = 0
    for (const row of rows) {
      row.tr.hidden = needle !== '' && !row.snapshot.id.toLowerCase().includes(needle)
      if (!row.tr.hidden) shown++
    }
    const current = this.#tbody.children
    if (rows.length !== current.length || rows.some((row, i) => current[i] !== row.tr)) {
      this.#tbody.replaceChildren(...rows.map((row) => row.tr))
    }
    if (this.#loaded && shown === 0) {
      const text = rows.length === 0 ? 'No metrics yet: POST samples to /metrics/<id>/latency.' : 'No id matches the filter.'
      this.#tbody.append(el('tr', { class: 'empty' }, [el('td', { text, attrs: { colspan: String(COLUMNS.length) } })]))
    }
    for (const [key, th] of this.#headers) {
      th.setAttribute('aria-sort', key !== this.#sortKey ? 'none' : this.#direction === 'asc' ? 'ascending' : 'descending')
    }
    this.#counts.dataset.shown = String(shown)
    this.#counts.dataset.held = String(this.#held)
    this.#counts.textContent = this.#loaded
      ? `${formatCount(shown)} of ${formatCount(rows.length)} metrics shown; the service holds ${formatCount(this.#held)}.`
      : 'Loading…'
  }

  /** Sort and filter go in the URL without a history entry each (typing would flood it). */
  #saveState(): void {
    const params = new URLSearchParams()
    if (this.#sortKey !== 'id' || this.#direction !== 'asc') {
      params.set('sort', this.#sortKey)
      params.set('dir', this.#direction)
    }
    const q = this.#filterInput.value.trim()
    if (q !== '') params.set('q', q)
    history.replaceState(null, '', routeHash({ view: 'overview', params }))
  }

  /**
   * Sparklines cost one series request each, so only rows on screen fetch one, at most
   * every SPARKLINE_EVERY_MS, over SPARKLINE_POINTS coarse steps; a row with an empty
   * window needs none. See the README (Dashboard) for the measured cost.
   */
  #fetchSparklines(): void {
    if (this.#destroyed || this.#windowMs === 0) return
    const now = performance.now()
    for (const row of this.#rows.values()) {
      if (this.#sparklinesInFlight >= SPARKLINE_CONCURRENCY) return
      const due = row.visible && !row.tr.hidden && row.snapshot.count > 0 && !row.sparkFetching && now - row.sparkFetchedAt >= SPARKLINE_EVERY_MS
      if (due && row.seriesPath !== null) void this.#fetchSparkline(row, row.seriesPath)
    }
  }

  async #fetchSparkline(row: Row, seriesPath: string): Promise<void> {
    row.sparkFetching = true
    this.#sparklinesInFlight++
    const stepMs = Math.ceil(this.#windowMs / SPARKLINE_POINTS)
    try {
      const series = await this.api.get<Series>(seriesPath + query({ step_ms: stepMs }))
      if (!this.#destroyed && this.#rows.get(row.snapshot.id) === row) {
        row.showSparkline(series)
        row.sparkFetchedAt = performance.now()
        if (this.#sortKey === 'trend') this.#arrange()
      }
    } catch {
      // The next refresh shows what failed (the same service answers GET /metrics);
      // the row keeps its last sparkline and tries again when it is next due.
      row.sparkFetchedAt = performance.now()
    } finally {
      row.sparkFetching = false
      this.#sparklinesInFlight--
    }
    this.#fetchSparklines()
  }
}

function defaultDirection(key: SortKey): Direction {
  return key === 'id' ? 'asc' : 'desc'
}

/** Numbers and strings in `sign` order; empty values (null) last in both directions. */
function compare(a: number | string | null, b: number | string | null, sign: number): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1
  return a < b ? -sign : a > b ? sign : 0
}
