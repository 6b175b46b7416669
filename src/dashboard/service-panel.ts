// The service block of the overview: uptime, ids held, samples per second, requests by
// class, and the counters of the StatsD and OTLP doors when the service has them.
import type { ServiceStatus } from './api.js'
import { el } from './dom.js'
import { DASH, formatBytes, formatCount, formatRate, formatUptime, formatWindow } from './format.js'

export class ServicePanel {
  #previous: { samples: number; uptimeS: number } | null = null

  constructor(private readonly root: HTMLElement) {}

  show(service: ServiceStatus): void {
    const { limits, requests } = service
    const items: Array<[string, string, string?]> = [
      ['uptime', formatUptime(service.uptime_s)],
      ['window', formatWindow(limits.window_ms), `WINDOW_MS ${formatCount(limits.window_ms)}`],
      ['ids held', `${formatCount(service.metrics)} of ${formatCount(limits.max_metrics)}`, 'ids held now, of MAX_METRICS'],
      ['samples', formatCount(service.samples_total), 'samples accepted since the process started'],
      ['samples/s', this.#samplesPerSecond(service), 'samples accepted per second since the last refresh'],
      ['ring memory', formatBytes(service.ring_bytes), `${formatCount(service.ring_bytes)} bytes held by sample rings`],
      ['requests', formatCount(requests.total), 'responses sent since the process started'],
      ['2xx', formatCount(requests['2xx'])],
      ['3xx', formatCount(requests['3xx'])],
      ['4xx', formatCount(requests['4xx'])],
      ['5xx', formatCount(requests['5xx'])],
      ['in flight', formatCount(requests.in_flight)],
    ]
    const groups: HTMLElement[] = [
      el(
        'dl',
        { attrs: { 'data-group': 'service' } },
        items.map(([name, value, title]) => item(name, value, title)),
      ),
    ]
    for (const door of ['statsd', 'otlp'] as const) {
      const counters = service[door]
      if (counters !== undefined) groups.push(doorCounters(door, counters))
    }
    this.root.replaceChildren(el('h2', { text: 'Service' }), ...groups)
  }

  #samplesPerSecond(service: ServiceStatus): string {
    const previous = this.#previous
    this.#previous = { samples: service.samples_total, uptimeS: service.uptime_s }
    if (previous === null || service.uptime_s <= previous.uptimeS || service.samples_total < previous.samples) return DASH
    return formatRate((service.samples_total - previous.samples) / (service.uptime_s - previous.uptimeS))
  }
}

function item(name: string, value: string, title?: string): HTMLElement {
  return el('div', { attrs: { 'data-field': name } }, [el('dt', { text: name }), el('dd', { text: value, title })])
}

/** A door's counters as the service reports them (numbers, nested one level at most), labelled by their keys. */
function doorCounters(door: string, counters: Record<string, unknown>): HTMLElement {
  const items: HTMLElement[] = []
  const add = (name: string, value: unknown) => {
    if (typeof value === 'number') items.push(item(name, formatCount(value)))
    else if (typeof value === 'string' || typeof value === 'boolean') items.push(item(name, String(value)))
    else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) if (typeof inner !== 'object') add(`${name} ${key}`, inner)
    }
  }
  for (const [name, value] of Object.entries(counters)) add(name, value)
  return el('dl', { attrs: { 'data-group': door } }, [el('dt', { class: 'door', text: door === 'otlp' ? 'OTLP' : 'StatsD' }), ...items])
}
