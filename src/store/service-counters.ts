import { CounterBlock } from './counter-block.js'

/** Cell layout of the service-wide counter block. */
export const ServiceSlot = {
  requestsTotal: 0,
  inFlight: 1,
  status1xx: 2,
  status2xx: 3,
  status3xx: 4,
  status4xx: 5,
  status5xx: 6,
  samplesTotal: 7,
  metricsEvicted: 8,
} as const
const WIDTH = 9

interface RequestCounts {
  total: number
  in_flight: number
  '2xx': number
  '3xx': number
  '4xx': number
  '5xx': number
}

/** The service's own counters: requests by status class, in-flight gauge, samples accepted. */
export class ServiceCounters {
  readonly block = CounterBlock.create(WIDTH)

  requestStarted(): void {
    this.block.increment(ServiceSlot.inFlight)
  }

  /** Counts a sent response by status class; 1xx and anything odd count in total only. */
  requestFinished(statusCode: number): void {
    const b = this.block
    b.decrement(ServiceSlot.inFlight)
    b.increment(ServiceSlot.requestsTotal)
    const cls = (statusCode / 100) | 0
    if (cls >= 1 && cls <= 5) b.increment(ServiceSlot.status1xx + cls - 1)
  }

  /** The client went away before its response was sent: no longer in flight, not counted as sent. */
  requestAbandoned(): void {
    this.block.decrement(ServiceSlot.inFlight)
  }

  samplesAccepted(n: number): void {
    this.block.add(ServiceSlot.samplesTotal, n)
  }

  metricsEvicted(n: number): void {
    this.block.add(ServiceSlot.metricsEvicted, n)
  }

  get evictedTotal(): number {
    return this.block.get(ServiceSlot.metricsEvicted)
  }

  get samplesTotal(): number {
    return this.block.get(ServiceSlot.samplesTotal)
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.block.get(ServiceSlot.inFlight)
  }

  /** Responses sent, by status class: [1xx, 2xx, 3xx, 4xx, 5xx]. */
  responsesByClass(): number[] {
    const b = this.block
    return [ServiceSlot.status1xx, ServiceSlot.status2xx, ServiceSlot.status3xx, ServiceSlot.status4xx, ServiceSlot.status5xx].map((slot) => b.get(slot))
  }

  requests(): RequestCounts {
    const b = this.block
    return {
      total: b.get(ServiceSlot.requestsTotal),
      in_flight: b.get(ServiceSlot.inFlight),
      '2xx': b.get(ServiceSlot.status2xx),
      '3xx': b.get(ServiceSlot.status3xx),
      '4xx': b.get(ServiceSlot.status4xx),
      '5xx': b.get(ServiceSlot.status5xx),
    }
  }
}
