import { parseArgs } from 'node:util'

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
  /** Answer 503 when event-loop delay exceeds this; 0 disables. */
  maxEventLoopDelayMs: number
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
  help: string
}
type Setting = IntegerSetting | TextSetting

export const SETTINGS: readonly Setting[] = [
  { key: 'port', env: 'PORT', flag: 'port', kind: 'integer', min: 0, max: 65535, default: 8080, help: 'listen port (0 picks a free one)' },
  { key: 'host', env: 'HOST', flag: 'host', kind: 'text', default: '127.0.0.1', help: 'listen address' },
  { key: 'windowMs', env: 'WINDOW_MS', flag: 'window-ms', kind: 'integer', min: 1, max: 86_400_000, default: 60_000, help: 'sliding window length in ms' },
  { key: 'maxSamples', env: 'MAX_SAMPLES', flag: 'max-samples', kind: 'integer', min: 1, max: 10_000_000, default: 10_000, help: 'ring capacity per metric (most recent kept)' },
  { key: 'maxMetrics', env: 'MAX_METRICS', flag: 'max-metrics', kind: 'integer', min: 1, max: 1_000_000, default: 10_000, help: 'most distinct metric ids held at once' },
  { key: 'logLevel', env: 'LOG_LEVEL', flag: 'log-level', kind: 'level', default: 'info', help: `pino level: ${LOG_LEVELS.join(', ')}` },
  { key: 'authToken', env: 'AUTH_TOKEN', flag: 'auth-token', kind: 'text', default: undefined, secret: true, help: 'bearer token required on every route but /healthz' },
  { key: 'readToken', env: 'READ_TOKEN', flag: 'read-token', kind: 'text', default: undefined, secret: true, help: 'bearer token accepted on GET routes only (needs AUTH_TOKEN)' },
  { key: 'idleTtlMs', env: 'IDLE_TTL_MS', flag: 'idle-ttl-ms', kind: 'integer', min: 0, max: 31_536_000_000, default: 86_400_000, help: 'remove a metric after this long without writes (0: never)' },
  { key: 'stateFile', env: 'STATE_FILE', flag: 'state-file', kind: 'text', default: undefined, help: 'file to save metrics to and load them from (unset: in memory only)' },
  { key: 'stateIntervalMs', env: 'STATE_INTERVAL_MS', flag: 'state-interval-ms', kind: 'integer', min: 100, max: 86_400_000, default: 10_000, help: 'how often the state file is written' },
  { key: 'headersTimeoutMs', env: 'HEADERS_TIMEOUT_MS', flag: 'headers-timeout-ms', kind: 'integer', min: 100, max: 600_000, default: 10_000, help: 'close connections whose request headers take longer' },
  { key: 'requestTimeoutMs', env: 'REQUEST_TIMEOUT_MS', flag: 'request-timeout-ms', kind: 'integer', min: 100, max: 3_600_000, default: 30_000, help: 'close connections whose whole request takes longer' },
  { key: 'maxEventLoopDelayMs', env: 'MAX_EVENT_LOOP_DELAY_MS', flag: 'max-event-loop-delay-ms', kind: 'integer', min: 0, max: 60_000, default: 1_000, help: 'answer 503 while event-loop delay is above this (0: never)' },
]

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type ParsedArgs = { help: true } | { help: false; config: Config }

/** Parses flags over environment variables; throws ConfigError on any invalid value. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedArgs {
  let flags: Record<string, string | boolean | undefined>
  try {
    const options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]))
    flags = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true })
      .values
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`)
  }
  if (flags.help === true) return { help: true }
  const config: Record<string, number | string> = {}
  for (const s of SETTINGS) {
    const flag = flags[s.flag]
    const raw = typeof flag === 'string' ? flag : env[s.env]
    const source = typeof flag === 'string' ? `--${s.flag}` : s.env
    const value = raw === undefined ? s.default : parseSetting(s, raw.trim(), source)
    if (value !== undefined) config[s.key] = value
  }
  checkCombinations(config as unknown as Config)
  return { help: false, config: config as unknown as Config }
}

function checkCombinations(config: Config): void {
  if (config.readToken !== undefined && config.authToken === undefined) {
    throw new ConfigError('READ_TOKEN needs AUTH_TOKEN: without it nothing could write')
  }
  if (config.readToken !== undefined && config.readToken === config.authToken) {
    throw new ConfigError('READ_TOKEN must differ from AUTH_TOKEN')
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`,
    )
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

function parseSetting(s: Setting, raw: string, source: string): number | string {
  switch (s.kind) {
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
  }
}

export function helpText(): string {
  const rows = SETTINGS.map(
    (s) => `  --${s.flag.padEnd(24)} ${s.env.padEnd(24)} ${s.help} (default ${s.default ?? 'unset'})`,
  )
  return ['Usage: latency-tracker [options]', '', 'Each option can also be set by the environment variable beside it.', '', ...rows, `  ${'--help, -h'.padEnd(51)} print this help and exit`, ''].join('\n')
}
