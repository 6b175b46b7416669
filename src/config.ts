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
  default: string
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
    config[s.key] = raw === undefined ? s.default : parseSetting(s, raw.trim(), source)
  }
  return { help: false, config: config as unknown as Config }
}

function parseSetting(s: Setting, raw: string, source: string): number | string {
  switch (s.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${source} must be an integer, got "${raw}"`)
      const n = Number(raw)
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
  const rows = SETTINGS.map((s) => `  --${s.flag.padEnd(14)} ${s.env.padEnd(12)} ${s.help} (default ${s.default})`)
  return ['Usage: latency-tracker [options]', '', 'Each option can also be set by the environment variable beside it.', '', ...rows, '  --help, -h     print this help and exit', ''].join('\n')
}
