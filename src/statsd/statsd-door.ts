import dgram from 'node:dgram'
import { once } from 'node:events'
import net from 'node:net'
import type { MetricStore } from '../store/metric-store.js'
import { BadLineLog, type DoorLog, type LineSource } from './bad-line-log.js'
import { LineIngest } from './line-ingest.js'
import type { StatsdCounters } from './statsd-counters.js'
import { MAX_TCP_LINE_BYTES, TcpLineFramer } from './tcp-line-framer.js'

/**
 * Idle TCP connections are never closed: hot-shots, for one, never reconnects
 * once the server has closed its connection (every later write fails with
 * ERR_SOCKET_DESTROYED), and neither the reference daemon nor Telegraf closes
 * them by default. TCP keepalive probes after this much silence find peers that
 * are gone without a word (a host down, a cable out), so that they free their slot.
 */
const TCP_KEEPALIVE_DELAY_MS = 60_000
/** Open TCP connections at most; the server closes any beyond at once. */
export const MAX_TCP_CONNECTIONS = 1024
/**
 * The UDP socket's receive buffer asked of the kernel (which caps it at
 * net.core.rmem_max): room for bursts while the event loop is busy elsewhere,
 * such as a snapshot of every metric.
 */
const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
/** How much of an unfinished or over-long TCP line goes into the log. */
const LOGGED_CHARS = 200

export interface StatsdDoorOptions {
  store: MetricStore
  counters: StatsdCounters
  host: string
  /** 0 picks free ports (the UDP and TCP ones may then differ). */
  port: number
  log: DoorLog
  /** Tests lower this; the service uses the default. */
  maxTcpConnections?: number
}

/** The door could not listen: a port in use, an address this host does not have. */
export class StatsdListenError extends Error {
  override name = 'StatsdListenError'
}

/**
 * The StatsD door: a UDP socket and a TCP server on one port, feeding lines to
 * the store through LineIngest. start() binds both (or neither); stop() stops
 * receiving on both and closes every TCP connection, so nothing arrives after it.
 */
export class StatsdDoor {
  /** The bound ports, once started. */
  udpPort = 0
  tcpPort = 0
  private readonly lines: LineIngest
  private readonly connections = new Set<net.Socket>()
  private udp: dgram.Socket | undefined
  private tcp: net.Server | undefined
  private stopped: Promise<void> | undefined

  constructor(private readonly options: StatsdDoorOptions) {
    this.lines = new LineIngest(options.store, options.counters, new BadLineLog(options.log))
  }

  async start(): Promise<void> {
    const { host, port, log } = this.options
    const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' })
    this.udp = udp
    udp.on('message', (datagram: Buffer, rinfo: dgram.RemoteInfo) => this.ingest(datagram.toString('utf8'), 1, 'udp', rinfo))
    try {
      await listening(udp, 'udp', host, port, () => udp.bind(port, host))
      try {
        udp.setRecvBufferSize(UDP_RECEIVE_BUFFER_BYTES)
      } catch (err) {
        log.warn({ err }, 'StatsD: could not enlarge the UDP receive buffer; bursts may be dropped sooner')
      }
      udp.on('error', (err) => log.error({ err }, 'StatsD: UDP socket error'))
      this.udpPort = udp.address().port

      const tcp = net.createServer((socket) => this.accept(socket))
      this.tcp = tcp
      tcp.maxConnections = this.options.maxTcpConnections ?? MAX_TCP_CONNECTIONS
      await listening(tcp, 'tcp', host, port, () => tcp.listen(port, host))
      tcp.on('error', (err) => log.error({ err }, 'StatsD: TCP server error'))
      this.tcpPort = (tcp.address() as net.AddressInfo).port
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** Stops receiving on both transports and closes every TCP connection; resolves when all are closed. */
  stop(): Promise<void> {
    this.stopped ??= this.close()
    return this.stopped
  }

  private async close(): Promise<void> {
    const { udp, tcp } = this
    const closing: Promise<unknown>[] = []
    if (udp !== undefined) closing.push(new Promise<void>((resolve) => udp.close(() => resolve())).catch(() => undefined))
    if (tcp?.listening) closing.push(new Promise<void>((resolve) => tcp.close(() => resolve())))
    for (const socket of this.connections) socket.destroy()
    await Promise.all(closing)
  }

  /** Applies lines; a bug in doing so loses those lines and is logged, but never takes the process down. */
  private ingest(text: string, packets: number, transport: 'udp' | 'tcp', source: LineSource): void {
    try {
      this.lines.ingest(text, packets, transport, source)
    } catch (err) {
      this.options.log.error({ err, transport }, 'StatsD: applying lines failed (a bug); those lines are lost')
    }
  }

  private accept(socket: net.Socket): void {
    if (this.stopped !== undefined) {
      socket.destroy()
      return
    }
    this.connections.add(socket)
    const framer = new TcpLineFramer()
    const source: LineSource = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }
    socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS)
    socket.on('data', (chunk: Buffer) => {
      const text = framer.push(chunk)
      if (text !== '') this.ingest(text, 0, 'tcp', source)
      if (framer.overLong) {
        this.lines.badLine(`line longer than ${MAX_TCP_LINE_BYTES} bytes: connection closed`, framer.unfinished(LOGGED_CHARS), 'tcp', source)
        socket.destroy()
      }
    })
    // A reset or a write to a closed peer: the connection just ends ('close' follows).
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.connections.delete(socket)
      const rest = framer.unfinished(LOGGED_CHARS)
      if (rest !== '') this.lines.badLine('connection closed in the middle of a line (TCP lines end with "\\n")', rest, 'tcp', source)
    })
  }
}

/** Runs `listen` and resolves once the socket or server listens; rejects with a StatsdListenError naming the transport. */
async function listening(target: dgram.Socket | net.Server, transport: string, host: string, port: number, listen: () => void): Promise<void> {
  const ready = once(target, 'listening')
  listen()
  try {
    await ready
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new StatsdListenError(`cannot listen for StatsD over ${transport} on ${host}:${port}: ${e.code ?? e.message}`, { cause: err })
  }
}
