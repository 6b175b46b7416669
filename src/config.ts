import { parseArgs } from 'node:util'
import { DEFAULT_OTLP_MAX_BODY_BYTES, DEFAULT_OTLP_MAX_COMPRESSED_BYTES } from './otlp/otlp-limits.js'
import { SPAN_KINDS, type SpanKindName } from './otlp/span-kinds.js'
import { DEFAULT_BUCKET_BOUNDS_NS } from './store/histogram-buckets.js'

/**
 * Configuration from environment variables, each overridable by a command-line
 * flag. Invalid values are errors that name the variable, raised before listening.
 */
export interface Config {
  port: number
  host: string
  windowMs: number
  maxSamples: number
  maxMetrics: number
  logLevel: LogLevel
  /** Bearer token for every route but /healthz; unset: open. */
  authToken?: string
  /** Bearer token accepted on GET routes only. */
  readToken?: string
  /** Remove metrics with no write for this long; 0 disables. */
  idleTtlMs: number
  stateFile?: string
  stateIntervalMs: number
  headersTimeoutMs: number
  requestTimeoutMs: number
  /** On SIGTERM/SIGINT, how long requests in flight get before their connections are cut and the state is saved. */
  shutdownGraceMs: number
  /** Answer 503 when event-loop delay exceeds this; 0 disables. */
  maxEventLoopDelayMs: number
  /** Upper bounds of the latency histogram in seconds, strictly ascending (whole nanoseconds). */
  histogramBuckets: readonly number[]
  /** Port of the StatsD UDP socket and TCP server (0: free ports); 'off': no StatsD listener. */
  statsdPort: number | 'off'
  /** Address the StatsD listeners bind to; defaults to HOST. */
  statsdHost: string
  /** 'off' removes the dashboard at / and its files. */
  dashboard: 'on' | 'off'
  /** The largest OTLP body, after gzip decoding. */
  otlpMaxBodyBytes: number
  /** The largest gzip-compressed OTLP body, as sent. */
  otlpMaxCompressedBytes: number
  /** Span kinds that become samples; spans of other kinds are skipped. */
  otlpSpanKinds: readonly SpanKindName[]
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

interface IntegerSetting {
  key: keyof Config
  env: string
  flag: string
  kind: 'integer'
  min: number
  max: number
  default: number
  help: string
}
interface TextSetting {
  key: keyof Config
  env: string
  flag: string
  kind: 'text' | 'level'
  /** undefined: optional, unset by default. */
  default: string | undefined
  /** Never printed: replaced by "[set]" in the startup log. */
  secret?: boolean
  /** What --help shows as the default when it is not a fixed value. */
  defaultText?: string
  help: string
}
interface BucketsSetting {
  key: keyof Config
  env: string
  flag: string
  kind: 'buckets'
  default: readonly number[]
  secret?: undefined
  help: string
}
interface ChoiceSetting {
  key: keyof Config
  env: string
  flag: string
  kind: 'choice'
  choices: readonly string[]
  default: string
  secret?: undefined
  help: string
}
/** A port, or `off` for a listener that is not started. */
interface PortOrOffSetting {
  key: keyof Config
  env: string
  flag: string
  kind: 'port-or-off'
  default: number
  secret?: undefined
  help: string
}
/** A comma-separated subset of `choices`, or `all`. */
interface SubsetSetting {
  key: keyof Config
  env: string
  flag: string
  kind: 'subset'
  choices: readonly string[]
  default: readonly string[]
  secret?: undefined
  help: string
}
type Setting = IntegerSetting | TextSetting | BucketsSetting | PortOrOffSetting | ChoiceSetting | SubsetSetting

/** The default histogram bounds: 1, 2.5, 5 per decade from 1 µs to 50 s, then 60 s. */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = Object.freeze(DEFAULT_BUCKET_BOUNDS_NS.map((ns) => ns / 1e9))
/** Each bound is a counter per metric id and a series per id in Prometheus. */
export const MAX_HISTOGRAM_BUCKETS = 200

export const SETTINGS: readonly Setting[] = [
  { key: 'port', env: 'PORT', flag: 'port', kind: 'integer', min: 0, max: 65535, default: 8080, help: 'listen port (0 picks a free one)' },
  { key: 'host', env: 'HOST', flag: 'host', kind: 'text', default: '127.0.0.1', help: 'listen address' },
  { key: 'windowMs', env: 'WINDOW_MS', flag: 'window-ms', kind: 'integer', min: 1, max: 86_400_000, default: 60_000, help: 'sliding window length in ms' },
  {
    key: 'maxSamples',
    env: 'MAX_SAMPLES',
    flag: 'max-samples',
    kind: 'integer',
    min: 1,
    max: 10_000_000,
    default: 10_000,
    help: 'ring capacity per metric (most recent kept)',
  },
  {
    key: 'maxMetrics',
    env: 'MAX_METRICS',
    flag: 'max-metrics',
    kind: 'integer',
    min: 1,
    max: 1_000_000,
    default: 10_000,
    help: 'most distinct metric ids held at once',
  },
  { key: 'logLevel', env: 'LOG_LEVEL', flag: 'log-level', kind: 'level', default: 'info', help: `pino level: ${LOG_LEVELS.join(', ')}` },
  {
    key: 'authToken',
    env: 'AUTH_TOKEN',
    flag: 'auth-token',
    kind: 'text',
    default: undefined,
    secret: true,
    help: 'bearer token required on every route but /healthz',
  },
  {
    key: 'readToken',
    env: 'READ_TOKEN',
    flag: 'read-token',
    kind: 'text',
    default: undefined,
    secret: true,
    help: 'bearer token accepted on GET routes only (needs AUTH_TOKEN)',
  },
  {
    key: 'idleTtlMs',
    env: 'IDLE_TTL_MS',
    flag: 'idle-ttl-ms',
    kind: 'integer',
    min: 0,
    max: 31_536_000_000,
    default: 86_400_000,
    help: 'remove a metric after this long without writes (0: never)',
  },
  {
    key: 'stateFile',
    env: 'STATE_FILE',
    flag: 'state-file',
    kind: 'text',
    default: undefined,
    help: 'file to save metrics to and load them from (unset: in memory only)',
  },
  {
    key: 'stateIntervalMs',
    env: 'STATE_INTERVAL_MS',
    flag: 'state-interval-ms',
    kind: 'integer',
    min: 100,
    max: 86_400_000,
    default: 10_000,
    help: 'how often the state file is written',
  },
  {
    key: 'headersTimeoutMs',
    env: 'HEADERS_TIMEOUT_MS',
    flag: 'headers-timeout-ms',
    kind: 'integer',
    min: 100,
    max: 600_000,
    default: 10_000,
    help: 'close connections whose request headers take longer',
  },
  {
    key: 'requestTimeoutMs',
    env: 'REQUEST_TIMEOUT_MS',
    flag: 'request-timeout-ms',
    kind: 'integer',
    min: 100,
    max: 3_600_000,
    default: 30_000,
    help: 'close connections whose whole request takes longer',
  },
  {
    key: 'shutdownGraceMs',
    env: 'SHUTDOWN_GRACE_MS',
    flag: 'shutdown-grace-ms',
    kind: 'integer',
    min: 0,
    max: 600_000,
    default: 10_000,
    help: 'on SIGTERM/SIGINT, cut requests still in flight after this long, then save the state',
  },
  {
    key: 'maxEventLoopDelayMs',
    env: 'MAX_EVENT_LOOP_DELAY_MS',
    flag: 'max-event-loop-delay-ms',
    kind: 'integer',
    min: 0,
    max: 60_000,
    default: 1_000,
    help: 'answer 503 while event-loop delay is above this (0: never)',
  },
  {
    key: 'histogramBuckets',
    env: 'HISTOGRAM_BUCKETS',
    flag: 'histogram-buckets',
    kind: 'buckets',
    default: DEFAULT_HISTOGRAM_BUCKETS,
    help: 'latency histogram bucket bounds in seconds, comma-separated, strictly ascending',
  },
  {
    key: 'statsdPort',
    env: 'STATSD_PORT',
    flag: 'statsd-port',
    kind: 'port-or-off',
    default: 8125,
    help: 'StatsD UDP and TCP port (0 picks free ones; off: no StatsD listener)',
  },
  {
    key: 'statsdHost',
    env: 'STATSD_HOST',
    flag: 'statsd-host',
    kind: 'text',
    default: undefined,
    defaultText: "HOST's value",
    help: 'StatsD listen address (StatsD has no authentication: keep it on loopback or a private interface)',
  },
  { key: 'dashboard', env: 'DASHBOARD', flag: 'dashboard', kind: 'choice', choices: ['on', 'off'], default: 'on', help: 'the live dashboard at / (on, off)' },
  {
    key: 'otlpMaxBodyBytes',
    env: 'OTLP_MAX_BODY_BYTES',
    flag: 'otlp-max-body-bytes',
    kind: 'integer',
    min: 1024,
    max: 268_435_456,
    default: DEFAULT_OTLP_MAX_BODY_BYTES,
    help: 'largest body POST /v1/traces takes, after gzip decoding (413 past it)',
  },
  {
    key: 'otlpMaxCompressedBytes',
    env: 'OTLP_MAX_COMPRESSED_BYTES',
    flag: 'otlp-max-compressed-bytes',
    kind: 'integer',
    min: 1024,
    max: 268_435_456,
    default: DEFAULT_OTLP_MAX_COMPRESSED_BYTES,
    help: 'largest gzip body POST /v1/traces takes, as sent (413 past it)',
  },
  {
    key: 'otlpSpanKinds',
    env: 'OTLP_SPAN_KINDS',
    flag: 'otlp-span-kinds',
    kind: 'subset',
    choices: SPAN_KINDS,
    default: SPAN_KINDS,
    help: `span kinds that become samples, comma-separated (${SPAN_KINDS.join(', ')}) or all; others are skipped`,
  },
]

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type ParsedArgs = { help: true } | { help: false; config: Config }

/** Parses flags over environment variables; throws ConfigError on any invalid value. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedArgs {
  let flags: Record<string, string | boolean | undefined>
  try {
    const options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]))
    flags = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`)
  }
  if (flags.help === true) return { help: true }
  const config: Record<string, number | string | readonly number[] | readonly string[]> = {}
  for (const s of SETTINGS) {
    const flag = flags[s.flag]
    const raw = typeof flag === 'string' ? flag : env[s.env]
    const source = typeof flag === 'string' ? `--${s.flag}` : s.env
    const value = raw === undefined ? s.default : parseSetting(s, raw.trim(), source)
    if (value !== undefined) config[s.key] = value
  }
  config.statsdHost ??= config.host
  checkCombinations(config as unknown as Config)
  return { help: false, config: config as unknown as Config }
}

/**
 * A bearer token is sent in a header: a client sends what it holds as bytes
 * (curl as UTF-8, a browser as Latin-1 or not at all) and the service reads a
 * token as one run of non-space characters. Only printable ASCII without spaces
 * reaches the service as written from every client.
 */
const SENDABLE_TOKEN = /^[\x21-\x7e]+$/

function checkTokens(config: Config): void {
  for (const [name, token] of [
    ['AUTH_TOKEN', config.authToken],
    ['READ_TOKEN', config.readToken],
  ] as const) {
    // The message never shows the token: it is a secret.
    if (token !== undefined && !SENDABLE_TOKEN.test(token)) {
      throw new ConfigError(`${name} must be printable ASCII without spaces (letters, digits, punctuation): clients send it in an Authorization header`)
    }
  }
}

function checkCombinations(config: Config): void {
  checkTokens(config)
  if (config.readToken !== undefined && config.authToken === undefined) {
    throw new ConfigError('READ_TOKEN needs AUTH_TOKEN: without it nothing could write')
  }
  if (config.readToken !== undefined && config.readToken === config.authToken) {
    throw new ConfigError('READ_TOKEN must differ from AUTH_TOKEN')
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(`HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`)
  }
}

/** The config as it may be logged: secrets replaced by "[set]". */
export function loggableConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config }
  for (const s of SETTINGS) {
    if (s.kind !== 'integer' && s.secret === true && out[s.key] !== undefined) out[s.key] = '[set]'
  }
  return out
}

function parseSetting(s: Setting, raw: string, source: string): number | string | readonly number[] | readonly string[] {
  switch (s.kind) {
    case 'port-or-off':
      if (raw === 'off') return 'off'
      if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
        throw new ConfigError(`${source} must be a port from 0 to 65535 (0 picks a free one) or "off", got "${raw}"`)
      }
      return Number(raw)
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${source} must be an integer, got "${raw}"`)
      const n = Number(raw) + 0 // "+ 0" turns "-0" into 0
      if (n < s.min || n > s.max) {
        throw new ConfigError(`${source} must be between ${s.min} and ${s.max}, got ${raw}`)
      }
      return n
    }
    case 'level':
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
        throw new ConfigError(`${source} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`)
      }
      return raw
    case 'text':
      if (raw === '') throw new ConfigError(`${source} must not be empty`)
      return raw
    case 'buckets':
      return parseBuckets(raw, source)
    case 'choice':
      if (!s.choices.includes(raw)) throw new ConfigError(`${source} must be one of ${s.choices.join(', ')}, got "${raw}"`)
      return raw
    case 'subset':
      return parseSubset(s.choices, raw, source)
  }
}

/** Comma-separated names out of `choices` (each at most once), or `all`. */
function parseSubset(choices: readonly string[], raw: string, source: string): readonly string[] {
  if (raw === 'all') return choices
  const names = raw.split(',').map((p) => p.trim().toLowerCase())
  for (const name of names) {
    if (!choices.includes(name)) throw new ConfigError(`${source} must be all or comma-separated names out of ${choices.join(', ')}, got "${name}"`)
  }
  return choices.filter((c) => names.includes(c))
}

const SECONDS = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * Histogram bounds: comma-separated seconds, rounded to whole nanoseconds (the
 * unit samples are recorded in), 1 ns to 2^53-1 ns, strictly ascending after
 * rounding. Returned in seconds, as ns / 1e9, so each prints as a clean `le` label.
 */
function parseBuckets(raw: string, source: string): readonly number[] {
  if (raw === '') throw new ConfigError(`${source} must not be empty`)
  const parts = raw.split(',').map((p) => p.trim())
  if (parts.length > MAX_HISTOGRAM_BUCKETS) {
    throw new ConfigError(`${source} takes at most ${MAX_HISTOGRAM_BUCKETS} bounds, got ${parts.length}`)
  }
  const ns: number[] = []
  for (const part of parts) {
    if (!SECONDS.test(part)) throw new ConfigError(`${source} must be comma-separated numbers of seconds, got "${part}"`)
    const n = Math.round(Number(part) * 1e9)
    if (!(n >= 1 && n <= Number.MAX_SAFE_INTEGER)) {
      throw new ConfigError(`${source}: bound ${part} is out of range: it must be from 0.000000001 (1 ns) to 9007199.254740991 s`)
    }
    if (ns.length > 0 && n <= ns[ns.length - 1]) {
      throw new ConfigError(`${source} must be strictly ascending (in whole nanoseconds), got ${parts[ns.length - 1]} then ${part}`)
    }
    ns.push(n)
  }
  return ns.map((n) => n / 1e9)
}

/** What a setting accepts, as the README's table gives it, for --help ('' where its help says it). */
function accepted(s: Setting): string {
  if (s.kind === 'integer') return `${s.min} to ${s.max}; `
  if (s.kind === 'buckets') return `at most ${MAX_HISTOGRAM_BUCKETS} bounds, each 0.000000001 to 9007199.254740991; `
  return ''
}

export function helpText(): string {
  const rows = SETTINGS.map(
    (s) =>
      `  --${s.flag.padEnd(24)} ${s.env.padEnd(24)} ${s.help} (${accepted(s)}default ${String((s.kind === 'text' ? s.defaultText : undefined) ?? s.default ?? 'unset')})`,
  )
  return [
    'Usage: latency-tracker [options]',
    '',
    'Each option can also be set by the environment variable beside it.',
    '',
    ...rows,
    `  ${'--help, -h'.padEnd(51)} print this help and exit`,
    '',
  ].join('\n')
}
