// One metric at #/metrics/<id>?window_ms=&status=&quantiles=&le_ns=: summary, SLO share,
// jobs and statuses from GET /metrics/:id, and two charts from GET /metrics/:id/series.
import { type Api, ApiError, type MetricList, type Series, type ServiceStatus, type Snapshot } from './api.js'
import { CountChart, LatencyChart, fitWidth } from './charts.js'
import { el, showNs } from './dom.js'
import { DASH, formatCount, formatNs, formatPercent, formatWindow, wholeUnit } from './format.js'
import { metricPath, query, routeHash } from './route.js'

export type Limits = ServiceStatus['limits']

const WINDOW_CHOICES_MS = [60_000, 300_000, 900_000, 3_600_000]
const STATUS_CHOICES: ReadonlyArray<[value: string, label: string]> = [
  ['', 'all'],
  ['2xx', '2xx'],
  ['4xx', '4xx'],
  ['5xx', '5xx'],
]
const THRESHOLD_UNITS: ReadonlyArray<[factor: number, label: string]> = [
  [1, 'ns'],
  [1e3, 'µs'],
  [1e6, 'ms'],
  [1e9, 's'],
]
const JOB_FIELDS = ['created', 'started', 'completed', 'failed', 'retried', 'in_progress'] as const

export class MetricView {
  readonly root: HTMLElement
  readonly id: string
  #params: URLSearchParams
  readonly #window = el('select', { attrs: { id: 'window', 'aria-label': 'Window' } })
  readonly #status = el('select', { attrs: { id: 'status', 'aria-label': 'Status filter' } })
  readonly #quantiles = el('input', {
    attrs: { id: 'quantiles', type: 'text', placeholder: 'e.g. 0.9,0.999', 'aria-label': 'Extra quantiles', autocomplete: 'off' },
  })
  readonly #threshold = el('input', { attrs: { id: 'slo', type: 'number', min: '0', step: 'any', placeholder: 'e.g. 250', 'aria-label': 'SLO threshold' } })
  readonly #thresholdUnit = el('select', { attrs: { id: 'slo-unit', 'aria-label': 'SLO threshold unit' } })
  readonly #share = el('p', { class: 'slo-share', attrs: { id: 'slo-share' } })
  readonly #notice = el('p', { class: 'notice', attrs: { id: 'notice' } })
  readonly #summary = el('dl', { class: 'summary', attrs: { id: 'summary' } })
  readonly #jobs = el('tbody')
  readonly #statuses = el('tbody')
  readonly #latencyBox = el('div', { class: 'chart', attrs: { id: 'latency-chart' } })
  readonly #countBox = el('div', { class: 'chart', attrs: { id: 'count-chart' } })
  /** Everything that shows the metric's numbers: hidden while the metric is not held. */
  readonly #data: HTMLElement
  #latencyChart: LatencyChart | null = null
  #countChart: CountChart | null = null
  #windowOptionsFor = 0
  #destroyed = false
  readonly #onResize = () => {
    if (this.#latencyChart !== null) fitWidth(this.#latencyChart.plot, this.#latencyBox)
    if (this.#countChart !== null) fitWidth(this.#countChart.plot, this.#countBox)
  }

  constructor(
    private readonly api: Api,
    id: string,
    params: URLSearchParams,
    private readonly limits: () => Promise<Limits>,
  ) {
    this.id = id
    this.#params = params
    for (const [value, label] of STATUS_CHOICES) this.#status.append(el('option', { text: label, attrs: { value } }))
    for (const [factor, label] of THRESHOLD_UNITS) this.#thresholdUnit.append(el('option', { text: label, attrs: { value: String(factor) } }))
    this.#window.addEventListener('change', () => this.#navigate({ window_ms: this.#window.value }))
    this.#status.addEventListener('change', () => this.#navigate({ status: this.#status.value }))
    this.#quantiles.addEventListener('change', () => this.#navigate({ quantiles: this.#quantiles.value.replace(/\s+/g, '') }))
    const onThreshold = () => {
      const value = this.#threshold.valueAsNumber
      const ns = Math.round(value * Number(this.#thresholdUnit.value))
      this.#navigate({ le_ns: Number.isFinite(ns) && ns >= 1 ? String(ns) : '' })
    }
    this.#threshold.addEventListener('change', onThreshold)
    this.#thresholdUnit.addEventListener('change', onThreshold)

    const title = el('h1', { class: 'metric-id', text: id, attrs: { id: 'metric-id' } })
    const control = (label: string, ...inputs: HTMLElement[]) => el('label', {}, [el('span', { text: label }), ...inputs])
    const table = (caption: string, head: [string, string], body: HTMLTableSectionElement, tableId: string) =>
      el('table', { class: 'small', attrs: { id: tableId } }, [
        el('caption', { text: caption }),
        el('thead', {}, [
          el(
            'tr',
            {},
            head.map((h) => el('th', { text: h, attrs: { scope: 'col' } })),
          ),
        ]),
        body,
      ])
    const charts =
      metricPath(id) === null
        ? el('p', {
            class: 'note',
            text: `No charts for "${id}": a browser resolves "." and ".." in a URL as folder names, so this page cannot ask for their series. curl --path-as-is ${location.origin}/metrics/${id}/series reads it.`,
            attrs: { id: 'no-charts' },
          })
        : el('div', { class: 'charts' }, [
            el('figure', {}, [el('figcaption', { text: 'Latency per step: p50, p95, p99 and the extra quantiles' }), this.#latencyBox]),
            el('figure', {}, [el('figcaption', { text: 'Samples and errors per step' }), this.#countBox]),
          ])
    this.#data = el('div', { attrs: { id: 'metric-data' } }, [
      this.#share,
      this.#summary,
      charts,
      el('div', { class: 'tables' }, [
        table('Jobs', ['event', 'count'], this.#jobs, 'jobs'),
        table('Statuses in the window', ['status', 'samples'], this.#statuses, 'statuses'),
      ]),
    ])
    this.root = el('section', { class: 'metric', attrs: { 'aria-labelledby': 'metric-id' } }, [
      el('nav', {}, [el('a', { text: '← All metrics', attrs: { href: '#/' } })]),
      title,
      el('div', { class: 'controls' }, [
        control('Window', this.#window),
        control('Status', this.#status),
        control('Extra quantiles', this.#quantiles),
        control('SLO threshold', el('span', { class: 'pair' }, [this.#threshold, this.#thresholdUnit])),
      ]),
      this.#notice,
      this.#data,
    ])
    this.#notice.hidden = true
    window.addEventListener('resize', this.#onResize)
    this.apply(params)
  }

  /** Shows the controls as the URL says (reload, back/forward); the next refresh fetches with them. */
  apply(params: URLSearchParams): void {
    this.#params = params
    this.#status.value = params.get('status') ?? ''
    this.#quantiles.value = params.get('quantiles') ?? ''
    const le = Number(params.get('le_ns'))
    if (params.get('le_ns') !== null && Number.isSafeInteger(le) && le >= 1) {
      const [value, factor] = wholeUnit(le)
      this.#threshold.value = String(value)
      this.#thresholdUnit.value = String(factor)
    } else {
      this.#threshold.value = ''
      this.#thresholdUnit.value = '1000000'
    }
    this.#selectWindow()
  }

  async refresh(): Promise<void> {
    const limits = await this.limits()
    if (this.#windowOptionsFor !== limits.window_ms) this.#windowOptions(limits.window_ms)
    const params = this.#params
    const common = {
      window_ms: params.get('window_ms') ?? undefined,
      status: params.get('status') ?? undefined,
      quantiles: params.get('quantiles') ?? undefined,
    }
    const snapshotQuery = query({ ...common, le_ns: params.get('le_ns') ?? undefined })
    const snapshotPath = metricPath(this.id)
    const seriesPath = metricPath(this.id, '/series')
    let snapshot: Snapshot
    let series: Series | null
    try {
      ;[snapshot, series] = await Promise.all([
        snapshotPath === null ? this.#listedSnapshot(snapshotQuery) : this.api.get<Snapshot>(snapshotPath + snapshotQuery),
        seriesPath === null ? null : this.api.get<Series>(seriesPath + query(common)),
      ])
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404 || this.#destroyed) throw err
      this.#showGone()
      return
    }
    if (this.#destroyed || params !== this.#params) return
    this.#notice.hidden = true
    this.#data.hidden = false
    this.#showSummary(snapshot)
    this.#showShare(snapshot, params.get('le_ns'))
    this.#showJobs(snapshot)
    this.#showStatuses(snapshot)
    if (series !== null) this.#showCharts(series, params.get('quantiles'))
  }

  destroy(): void {
    this.#destroyed = true
    window.removeEventListener('resize', this.#onResize)
    this.#destroyCharts()
  }

  /**
   * The ids "." and ".." have no path a browser can fetch (see metricPath): their snapshot
   * comes from the list read with the same parameters, which costs a GET /metrics.
   */
  async #listedSnapshot(search: string): Promise<Snapshot> {
    const list = await this.api.get<MetricList>(`/metrics${search}`)
    const snapshot = list.metrics.find((s) => s.id === this.id)
    if (snapshot === undefined) throw new ApiError(`no metric "${this.id}"`, 404)
    return snapshot
  }

  /** A control changed: the new state goes into the URL (a history entry), and the hashchange refreshes. */
  #navigate(change: Record<string, string>): void {
    const params = new URLSearchParams(this.#params)
    for (const [name, value] of Object.entries(change)) {
      if (value === '') params.delete(name)
      else params.set(name, value)
    }
    location.hash = routeHash({ view: 'metric', id: this.id, params })
  }

  /** 1 min, 5 min, 15 min, 1 h, never beyond WINDOW_MS, which is itself a choice (the default). */
  #windowOptions(maxMs: number): void {
    this.#windowOptionsFor = maxMs
    const choices = WINDOW_CHOICES_MS.filter((ms) => ms < maxMs)
    this.#window.replaceChildren(
      ...choices.map((ms) => el('option', { text: formatWindow(ms), attrs: { value: String(ms) } })),
      el('option', { text: `${formatWindow(maxMs)} (all)`, attrs: { value: '' } }),
    )
    this.#selectWindow()
  }

  #selectWindow(): void {
    const wanted = this.#params.get('window_ms') ?? ''
    if (this.#windowOptionsFor !== 0 && ![...this.#window.options].some((o) => o.value === wanted)) {
      // A window from the URL that is not a choice (a shared link, or typed): show it as such.
      this.#window.append(el('option', { text: `${wanted} ms`, attrs: { value: wanted } }))
    }
    this.#window.value = wanted
  }

  /** The metric is not held (deleted, evicted, never written): none of the numbers shown is current, so none stays. */
  #showGone(): void {
    this.#notice.textContent = `No metric "${this.id}" is held now: it was deleted or evicted, or never received a sample.`
    this.#notice.hidden = false
    this.#data.hidden = true
    this.#summary.replaceChildren()
    this.#share.replaceChildren()
    this.#share.removeAttribute('data-fraction')
    this.#share.removeAttribute('title')
    this.#jobs.replaceChildren()
    this.#statuses.replaceChildren()
    this.#destroyCharts()
  }

  #destroyCharts(): void {
    this.#latencyChart?.plot.destroy()
    this.#countChart?.plot.destroy()
    this.#latencyChart = null
    this.#countChart = null
  }

  #showSummary(s: Snapshot): void {
    const item = (field: string, label: string, value: HTMLElement) => el('div', { attrs: { 'data-field': field } }, [el('dt', { text: label }), value])
    const nsValue = (ns: number | null) => {
      const dd = el('dd')
      showNs(dd, ns)
      return dd
    }
    const errorRate = el('dd', { text: formatPercent(s.error_rate), title: `${formatCount(s.errors)} errors (status 0 or >= 500)` })
    if (s.error_rate !== null) errorRate.dataset.value = String(s.error_rate)
    const count = el('dd', { text: formatCount(s.count), title: `${formatCount(s.total)} since the id was created`, attrs: { 'data-value': String(s.count) } })
    this.#summary.replaceChildren(
      item('count', `count (${formatWindow(s.window_ms)})`, count),
      item('p50', 'p50', nsValue(s.p50_ns)),
      item('p95', 'p95', nsValue(s.p95_ns)),
      item('p99', 'p99', nsValue(s.p99_ns)),
      item('max', 'max', nsValue(s.max_ns)),
      item('error_rate', 'error rate', errorRate),
      ...Object.entries(s.quantiles ?? {}).map(([q, ns]) => item(`q${q}`, `q${q}`, nsValue(ns))),
    )
  }

  #showShare(s: Snapshot, leNs: string | null): void {
    const share = leNs === null ? undefined : s.le?.[leNs]
    if (leNs === null || share === undefined) {
      this.#share.textContent = 'Set an SLO threshold to see the share of samples at or under it.'
      this.#share.removeAttribute('data-fraction')
      return
    }
    const threshold = formatNs(Number(leNs))
    if (share.fraction === null) {
      this.#share.textContent = `${DASH} No samples in the window to compare with ${threshold}.`
      this.#share.removeAttribute('data-fraction')
    } else {
      this.#share.textContent = `${formatPercent(share.fraction)} of samples at or under ${threshold} (${formatCount(share.count)} of ${formatCount(s.count)})`
      this.#share.dataset.fraction = String(share.fraction)
    }
    this.#share.title = `le_ns=${leNs}: ${share.count} samples, fraction ${share.fraction}`
  }

  #showJobs(s: Snapshot): void {
    this.#jobs.replaceChildren(
      ...JOB_FIELDS.map((field) =>
        el('tr', { attrs: { 'data-job': field } }, [
          el('th', { text: field.replace('_', ' '), attrs: { scope: 'row' } }),
          el('td', { class: 'num', text: formatCount(s.jobs[field]) }),
        ]),
      ),
    )
  }

  #showStatuses(s: Snapshot): void {
    const entries = Object.entries(s.statuses).sort(([a], [b]) => Number(a) - Number(b))
    if (entries.length === 0) {
      this.#statuses.replaceChildren(el('tr', {}, [el('td', { text: 'No samples with a status in the window.', attrs: { colspan: '2' } })]))
      return
    }
    this.#statuses.replaceChildren(
      ...entries.map(([status, n]) =>
        el('tr', { attrs: { 'data-status': status } }, [el('th', { text: status, attrs: { scope: 'row' } }), el('td', { class: 'num', text: formatCount(n) })]),
      ),
    )
  }

  #showCharts(series: Series, quantilesParam: string | null): void {
    const quantiles = quantilesParam === null || quantilesParam === '' ? [] : quantilesParam.split(',')
    const sameQuantiles = this.#latencyChart !== null && this.#latencyChart.quantiles.join(',') === quantiles.join(',')
    if (this.#latencyChart !== null && sameQuantiles) this.#latencyChart.update(series.points)
    else {
      this.#latencyChart?.plot.destroy()
      this.#latencyChart = new LatencyChart(this.#latencyBox, quantiles, series.points)
    }
    if (this.#countChart === null) this.#countChart = new CountChart(this.#countBox, series.points)
    else this.#countChart.update(series.points)
  }
}
