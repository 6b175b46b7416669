// The page's state lives in the URL fragment, so a view can be shared, reloaded and
// walked through with back/forward:
//   #/?sort=p99&dir=desc&q=check                     the overview
//   #/metrics/checkout?window_ms=300000&status=2xx   one metric

export type Route =
  { readonly view: 'overview'; readonly params: URLSearchParams } | { readonly view: 'metric'; readonly id: string; readonly params: URLSearchParams }

const METRIC_PATH = /^\/metrics\/([^/]+)$/

export function parseRoute(hash: string): Route {
  const text = hash.startsWith('#') ? hash.slice(1) : hash
  const at = text.indexOf('?')
  const path = at < 0 ? text : text.slice(0, at)
  const params = new URLSearchParams(at < 0 ? '' : text.slice(at + 1))
  const match = METRIC_PATH.exec(path)
  if (match !== null) {
    try {
      return { view: 'metric', id: decodeURIComponent(match[1]), params }
    } catch {
      // malformed percent-encoding: not a metric we can name
    }
  }
  return { view: 'overview', params }
}

export function routeHash(route: Route): string {
  const query = route.params.toString()
  const path = route.view === 'metric' ? `/metrics/${encodeURIComponent(route.id)}` : '/'
  return `#${path}${query === '' ? '' : `?${query}`}`
}

/**
 * The API path of one metric, e.g. /metrics/checkout/series; null for the ids "." and "..".
 * A browser resolves those path segments before it sends a request, and the URL standard
 * counts %2E as a dot there too, so /metrics/.. would ask for / and /metrics/./series for
 * /metrics/series: no URL the page can fetch names these two ids.
 */
export function metricPath(id: string, suffix = ''): string | null {
  if (id === '.' || id === '..') return null
  return `/metrics/${encodeURIComponent(id)}${suffix}`
}

/** A query string from the parameters that are set (undefined and '' are left out). */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(name, String(value))
  }
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}
