// The dashboard's entry point: picks the view from the URL fragment and keeps it fresh.
import { Api, type MetricList } from './api.js'
import { byId, el } from './dom.js'
import { type Limits, MetricView } from './metric-view.js'
import { OverviewView } from './overview.js'
import { REFRESH_CHOICES_MS, Refresher, savedRefreshMs } from './refresher.js'
import { type Route, parseRoute } from './route.js'
import { ServicePanel } from './service-panel.js'
import { tokenDialog } from './token-dialog.js'

const api = new Api(tokenDialog())
const viewRoot = byId('view', HTMLElement)
const serviceRoot = byId('service', HTMLElement)
const servicePanel = new ServicePanel(serviceRoot)
const refreshSelect = byId('refresh-every', HTMLSelectElement)
const refreshNow = byId('refresh-now', HTMLButtonElement)

let limits: Limits | null = null
let view: OverviewView | MetricView | null = null

/** The configured limits (WINDOW_MS for the window choices): from the overview's last read, or one cheap read. */
async function loadLimits(): Promise<Limits> {
  // A 1 ms window makes every snapshot of this list nearly free: only `service` is wanted.
  limits ??= (await api.get<MetricList>('/metrics?window_ms=1')).service.limits
  return limits
}

function show(route: Route): void {
  if (route.view === 'overview' && view instanceof OverviewView) return view.apply(route.params)
  if (route.view === 'metric' && view instanceof MetricView && view.id === route.id) return view.apply(route.params)
  view?.destroy()
  if (route.view === 'overview') {
    view = new OverviewView(
      api,
      (service) => {
        limits = service.limits
        servicePanel.show(service)
      },
      route.params,
    )
    document.title = 'latency-tracker'
  } else {
    view = new MetricView(api, route.id, route.params, loadLimits)
    document.title = `${route.id} · latency-tracker`
  }
  serviceRoot.hidden = route.view !== 'overview'
  viewRoot.replaceChildren(view.root)
}

const refresher = new Refresher(async () => view?.refresh(), byId('refresh-status', HTMLElement), savedRefreshMs())

for (const ms of REFRESH_CHOICES_MS) {
  refreshSelect.append(el('option', { text: ms === 0 ? 'off' : `every ${ms / 1000} s`, attrs: { value: String(ms) } }))
}
refreshSelect.value = String(refresher.everyMs)
refreshSelect.addEventListener('change', () => refresher.setEvery(Number(refreshSelect.value)))
refreshNow.addEventListener('click', () => {
  api.allowAsking()
  refresher.now()
})
window.addEventListener('hashchange', () => {
  show(parseRoute(location.hash))
  refresher.now()
})

show(parseRoute(location.hash))
refresher.now()
