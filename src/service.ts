import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { type Config, ConfigError } from './config.js'
import { buildApp } from './http/app.js'
import { createLogger } from './logger.js'
import { MetricStore } from './store/metric-store.js'
import { UnusableStatePathError } from './store/state-file.js'
import { StatePersistence, StateSaveStatus } from './store/state-persistence.js'
import { StatsdCounters } from './statsd/statsd-counters.js'
import { StatsdDoor } from './statsd/statsd-door.js'

/**
 * The composition root: builds the store, the state persistence and every door
 * (today the HTTP app), starts them in order and stops them in one order.
 *
 *   start: store -> state loaded -> idle sweep -> doors listening -> periodic saves
 *   stop:  doors stop accepting and finish in-flight work -> sweep and saves stop
 *          -> final save
 *
 * So every write a door answered is in the final save, and nothing arrives
 * after it. main.ts only parses the configuration and calls startService; tests
 * start the whole service in-process the same way.
 */
export interface Service {
  readonly store: MetricStore
  readonly http: FastifyInstance
  /** The service's logger (every part logs through it). */
  readonly log: FastifyBaseLogger
  /** The HTTP door's address, e.g. http://127.0.0.1:8080. */
  readonly address: string
  /** The StatsD door (its udpPort and tcpPort), or undefined with STATSD_PORT=off. */
  readonly statsd: StatsdDoor | undefined
  /**
   * Stops every door, then writes the final save; resolves when done. Requests in
   * flight get SHUTDOWN_GRACE_MS to finish; then their connections are cut, so
   * that a stalled client cannot hold off the save.
   */
  stop(): Promise<void>
}

export interface ServiceHooks {
  /** Where logs go (default stdout). */
  logStream?: NodeJS.WritableStream
  /** The store's clock, for tests. */
  now?: () => number
}

/** Builds and starts the service; rejects, with every part it started stopped again, if any part fails to start. */
export async function startService(config: Config, hooks: ServiceHooks = {}): Promise<Service> {
  const store = new MetricStore({
    maxMetrics: config.maxMetrics,
    maxSamples: config.maxSamples,
    windowMs: config.windowMs,
    bucketBoundsNs: config.histogramBuckets.map((s) => Math.round(s * 1e9)),
    now: hooks.now,
  })
  const statsdCounters = config.statsdPort === 'off' ? undefined : new StatsdCounters()
  const stateSaves = config.stateFile === undefined ? undefined : new StateSaveStatus()
  const log = createLogger(config.logLevel, hooks.logStream)
  const http = buildApp(store, { ...config, logger: log, statsdCounters, stateSaves })
  const statsd =
    config.statsdPort === 'off' || statsdCounters === undefined
      ? undefined
      : new StatsdDoor({ store, counters: statsdCounters, host: config.statsdHost, port: config.statsdPort, log })
  const persistence =
    config.stateFile === undefined ? undefined : new StatePersistence(store, config.stateFile, config.stateIntervalMs, log, Date.now, stateSaves)
  const sweep = sweepIdleMetrics(store, config.idleTtlMs)

  const stop = async () => {
    // server.close() closes only the keep-alive connections idle at that moment: one
    // whose request was still in flight would stay open after its response until
    // keepAliveTimeout (65 s), past the grace delay. Close each as soon as it goes idle.
    const closeIdle = setInterval(() => http.server.closeIdleConnections(), 50)
    // A request still unfinished then (a client stalled mid-body) would otherwise keep
    // the server open until REQUEST_TIMEOUT_MS, and the final save waiting with it.
    const cut = setTimeout(() => http.server.closeAllConnections(), config.shutdownGraceMs)
    try {
      await Promise.all([http.close(), statsd?.stop()])
    } finally {
      clearInterval(closeIdle)
      clearTimeout(cut)
      clearInterval(sweep)
    }
    // After the last request, so every answered write is in the final save.
    await persistence?.stop()
  }

  try {
    await loadState(persistence)
    if (config.authToken === undefined) {
      log.warn('AUTH_TOKEN is not set: every route is open to anyone who can reach this address')
    }
    await startStatsd(statsd, config, log)
    const address = await listen(http, config)
    persistence?.start()
    return { store, http, log, address, statsd, stop }
  } catch (err) {
    clearInterval(sweep)
    await Promise.all([http.close(), statsd?.stop()])
    throw err
  }
}

/**
 * Loads the state file. A path the state cannot be kept at (a directory, a
 * device, a folder that is missing or not writable) stops the start with a
 * ConfigError naming STATE_FILE: a service whose state could never be saved
 * would lose it all at shutdown while everything looked fine.
 */
async function loadState(persistence: StatePersistence | undefined): Promise<void> {
  try {
    await persistence?.load()
  } catch (err) {
    if (err instanceof UnusableStatePathError) throw new ConfigError(`STATE_FILE ${err.message}`)
    throw err
  }
}

/**
 * Starts the HTTP door. An address it cannot have stops the start with a
 * ConfigError naming PORT or HOST, so main exits 2 with one line.
 */
async function listen(http: FastifyInstance, { port, host }: Config): Promise<string> {
  try {
    return await http.listen({ port, host })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE')
      throw new ConfigError(`PORT ${port} is already in use on ${host}: stop what uses it, or choose another port (0 picks a free one)`)
    if (code === 'EACCES') throw new ConfigError(`PORT ${port} on ${host} needs privileges this process does not have: choose a port above 1023`)
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new ConfigError(`HOST ${host} is not an address of this machine (${code})`)
    }
    throw err
  }
}

/**
 * Starts the StatsD door and says where it listens. A port it cannot have is a
 * ConfigError naming STATSD_PORT, so main exits 2 with one line.
 */
async function startStatsd(statsd: StatsdDoor | undefined, config: Config, log: FastifyBaseLogger): Promise<void> {
  if (statsd === undefined) return
  try {
    await statsd.start()
  } catch (err) {
    throw new ConfigError(
      `STATSD_PORT ${config.statsdPort} (STATSD_HOST ${config.statsdHost}) is not available: ${(err as Error).message}; choose another port, 0 for free ones, or off`,
    )
  }
  const { udpPort, tcpPort } = statsd
  log.info(
    { statsd_udp_port: udpPort, statsd_tcp_port: tcpPort },
    `StatsD listening on udp://${config.statsdHost}:${udpPort} and tcp://${config.statsdHost}:${tcpPort}`,
  )
  if (!isLoopback(config.statsdHost)) {
    log.warn(`StatsD has no authentication (AUTH_TOKEN does not cover it): anyone who can reach ${config.statsdHost}:${udpPort} can write metrics`)
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

/**
 * Removes metrics with no write for idleTtlMs (0: never). The sweep runs every
 * quarter of the TTL (at most once a minute, at least every 100 ms), so a metric
 * goes at most that long after its TTL; the timer never keeps the process alive.
 */
function sweepIdleMetrics(store: MetricStore, idleTtlMs: number): NodeJS.Timeout | undefined {
  if (idleTtlMs <= 0) return undefined
  const every = Math.min(60_000, Math.max(100, Math.floor(idleTtlMs / 4)))
  return setInterval(() => store.evictIdle(idleTtlMs), every).unref()
}
