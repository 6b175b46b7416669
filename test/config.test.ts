import { describe, expect, it } from 'vitest'
import { type Config, ConfigError, helpText, loadConfig, LOG_LEVELS } from '../src/config.js'

const DEFAULTS: Pick<Config, 'port' | 'host' | 'windowMs' | 'maxSamples' | 'maxMetrics' | 'logLevel'> = {
  port: 8080,
  host: '127.0.0.1',
  windowMs: 60_000,
  maxSamples: 10_000,
  maxMetrics: 10_000,
  logLevel: 'info',
}

// Settings beyond the contract's six may be added to SETTINGS: these tests check
// the six with toMatchObject so that they keep holding when that happens.

/** The six settings of the contract: env var, flag, config key, a valid non-default value and its parsed form. */
const TABLE = [
  { env: 'PORT', flag: '--port', key: 'port', raw: '9090', value: 9090, min: 0, max: 65_535 },
  { env: 'HOST', flag: '--host', key: 'host', raw: '0.0.0.0', value: '0.0.0.0' },
  { env: 'WINDOW_MS', flag: '--window-ms', key: 'windowMs', raw: '5000', value: 5000, min: 1, max: 86_400_000 },
  { env: 'MAX_SAMPLES', flag: '--max-samples', key: 'maxSamples', raw: '123', value: 123, min: 1, max: 10_000_000 },
  { env: 'MAX_METRICS', flag: '--max-metrics', key: 'maxMetrics', raw: '77', value: 77, min: 1, max: 1_000_000 },
  { env: 'LOG_LEVEL', flag: '--log-level', key: 'logLevel', raw: 'debug', value: 'debug' },
] as const

const INTEGERS = TABLE.filter((s): s is Extract<(typeof TABLE)[number], { min: number }> => 'min' in s)

/** Loads a config, expecting success. */
function config(argv: string[] = [], env: NodeJS.ProcessEnv = {}): Config {
  const parsed = loadConfig(argv, env)
  if (parsed.help) throw new Error('unexpected help')
  return parsed.config
}

/** Asserts that loading throws a ConfigError whose message names `name`, and returns the message. */
function configError(argv: string[], env: NodeJS.ProcessEnv, name: string): string {
  let caught: unknown
  try {
    loadConfig(argv, env)
  } catch (err) {
    caught = err
  }
  expect(caught, `expected a ConfigError naming ${name}`).toBeInstanceOf(ConfigError)
  const err = caught as ConfigError
  expect(err.name).toBe('ConfigError')
  expect(err.message).toContain(name)
  return err.message
}

describe('loadConfig: defaults', () => {
  it('with no flags and an empty environment, every setting has its default from the table', () => {
    const parsed = loadConfig([], {})
    expect(parsed.help).toBe(false)
    expect(config([], {})).toMatchObject(DEFAULTS)
  })

  it('ignores unrelated environment variables', () => {
    expect(config([], { PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'production', port: '1' })).toEqual(config([], {}))
  })

  it('does not read process.env itself (only the env passed in)', () => {
    const saved = process.env.PORT
    process.env.PORT = '1234'
    try {
      expect(config([], {}).port).toBe(8080)
    } finally {
      if (saved === undefined) delete process.env.PORT
      else process.env.PORT = saved
    }
  })
})

describe('loadConfig: each setting', () => {
  for (const s of TABLE) {
    it(`${s.env} sets ${s.key} and leaves the others at their defaults`, () => {
      expect(config([], { [s.env]: s.raw })).toMatchObject({ ...DEFAULTS, [s.key]: s.value })
    })

    it(`${s.flag} <value> sets ${s.key}`, () => {
      expect(config([s.flag, s.raw])).toMatchObject({ ...DEFAULTS, [s.key]: s.value })
    })

    it(`${s.flag}=<value> sets ${s.key}`, () => {
      expect(config([`${s.flag}=${s.raw}`])).toMatchObject({ ...DEFAULTS, [s.key]: s.value })
    })

    it(`${s.flag} overrides ${s.env}`, () => {
      const envValue = s.env === 'LOG_LEVEL' ? 'warn' : s.env === 'HOST' ? '::1' : String(('min' in s ? s.min : 0) + 1)
      expect(config([s.flag, s.raw], { [s.env]: envValue })[s.key]).toBe(s.value)
      expect(config([], { [s.env]: envValue })[s.key]).not.toBe(s.value)
    })

    it(`a valid ${s.flag} wins over an invalid ${s.env} (the flag replaces the variable)`, () => {
      expect(config([`${s.flag}=${s.raw}`], { [s.env]: '' })[s.key]).toBe(s.value)
    })
  }

  it('all flags and all variables together', () => {
    const argv = TABLE.flatMap((s) => [s.flag, s.raw])
    const expected = Object.fromEntries(TABLE.map((s) => [s.key, s.value]))
    expect(config(argv)).toMatchObject(expected)
    const env = Object.fromEntries(TABLE.map((s) => [s.env, s.raw]))
    expect(config([], env)).toMatchObject(expected)
  })

  it('flags override env setting by setting, the rest still comes from env', () => {
    const env = { PORT: '1000', WINDOW_MS: '2000', MAX_SAMPLES: '3000', MAX_METRICS: '4000', LOG_LEVEL: 'error', HOST: '::1' }
    expect(config(['--window-ms=20', '--log-level', 'trace'], env)).toMatchObject({
      port: 1000,
      host: '::1',
      windowMs: 20,
      maxSamples: 3000,
      maxMetrics: 4000,
      logLevel: 'trace',
    })
  })

  it('the last occurrence of a repeated flag wins', () => {
    expect(config(['--port', '1', '--port', '2']).port).toBe(2)
  })

  it('accepts every pino level', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(config([], { LOG_LEVEL: level }).logLevel).toBe(level)
      expect(config([`--log-level=${level}`]).logLevel).toBe(level)
    }
    expect([...LOG_LEVELS].sort()).toEqual(['debug', 'error', 'fatal', 'info', 'silent', 'trace', 'warn'])
  })

  it('integer settings are numbers, not strings', () => {
    const c = config([], { PORT: '65535', WINDOW_MS: '1', MAX_SAMPLES: '1', MAX_METRICS: '1' })
    for (const key of ['port', 'windowMs', 'maxSamples', 'maxMetrics'] as const) expect(typeof c[key]).toBe('number')
  })

  it('tolerates surrounding whitespace in integer values', () => {
    expect(config([], { PORT: ' 9090 ' }).port).toBe(9090)
  })
})

describe('loadConfig: ranges', () => {
  for (const s of INTEGERS) {
    it(`${s.env} accepts its edges ${s.min} and ${s.max}`, () => {
      expect(config([], { [s.env]: String(s.min) })[s.key]).toBe(s.min)
      expect(config([], { [s.env]: String(s.max) })[s.key]).toBe(s.max)
      expect(config([s.flag, String(s.min)])[s.key]).toBe(s.min)
      expect(config([`${s.flag}=${s.max}`])[s.key]).toBe(s.max)
    })

    it(`${s.env} rejects ${s.min - 1} and ${s.max + 1}, naming the variable`, () => {
      configError([], { [s.env]: String(s.min - 1) }, s.env)
      configError([], { [s.env]: String(s.max + 1) }, s.env)
      configError([], { [s.env]: '-1' }, s.env)
      configError([], { [s.env]: '99999999999999999999999' }, s.env)
    })

    it(`${s.flag} rejects ${s.min - 1} and ${s.max + 1}, naming the flag`, () => {
      configError([`${s.flag}=${s.min - 1}`], {}, s.flag)
      configError([s.flag, String(s.max + 1)], {}, s.flag)
    })

    it(`the range error for ${s.env} states the range and the value`, () => {
      const message = configError([], { [s.env]: String(s.max + 1) }, s.env)
      expect(message).toContain(String(s.min))
      expect(message).toContain(String(s.max))
      expect(message).toContain(String(s.max + 1))
    })
  }
})

describe('loadConfig: invalid values', () => {
  const NOT_INTEGERS = ['abc', '1.5', '1e3', '', '0x10', ' ', '12abc', '1_000', '+', '-', '1.0', 'Infinity', 'NaN', '٣']

  for (const s of INTEGERS) {
    it(`${s.env} rejects non-integers, naming the variable`, () => {
      for (const raw of NOT_INTEGERS) configError([], { [s.env]: raw }, s.env)
    })

    it(`${s.flag} rejects non-integers, naming the flag`, () => {
      for (const raw of NOT_INTEGERS) configError([`${s.flag}=${raw}`], {}, s.flag)
    })
  }

  it('the error says the value is not an integer and quotes it', () => {
    const message = configError([], { WINDOW_MS: '1.5' }, 'WINDOW_MS')
    expect(message).toMatch(/integer/)
    expect(message).toContain('"1.5"')
  })

  it('an invalid variable is reported even if every other setting is valid', () => {
    const env = { PORT: '1', HOST: 'localhost', WINDOW_MS: '1', MAX_SAMPLES: 'abc', MAX_METRICS: '1', LOG_LEVEL: 'info' }
    configError([], env, 'MAX_SAMPLES')
  })

  it('rejects an unknown LOG_LEVEL, naming the variable and listing the levels', () => {
    for (const raw of ['loud', 'INFO', 'Debug', 'warning', '30', '']) {
      const message = configError([], { LOG_LEVEL: raw }, 'LOG_LEVEL')
      if (raw !== '') expect(message).toContain('debug')
    }
    configError(['--log-level', 'loud'], {}, '--log-level')
  })

  it('rejects a token no client can send as written, naming the setting and never showing the token', () => {
    for (const token of ['two words', 'tab\there', 'geheimß', 'secret\u2019', 'ключ', 'x\u0000']) {
      const message = configError([], { AUTH_TOKEN: token }, 'AUTH_TOKEN')
      expect(message).not.toContain(token)
      expect(configError([], { AUTH_TOKEN: 'writer', READ_TOKEN: token }, 'READ_TOKEN')).not.toContain(token)
      configError(['--auth-token', token], {}, 'AUTH_TOKEN')
    }
    // Every printable ASCII character is fine, punctuation included.
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('')
    expect(config([], { AUTH_TOKEN: printable, READ_TOKEN: 'r-O.9_~+/=' })).toMatchObject({ authToken: printable, readToken: 'r-O.9_~+/=' })
  })

  it('rejects an empty HOST, naming it', () => {
    configError([], { HOST: '' }, 'HOST')
    configError(['--host='], {}, '--host')
  })

  it('rejects an unknown flag, naming it', () => {
    configError(['--bogus'], {}, '--bogus')
    configError(['--bogus=1'], {}, '--bogus')
    configError(['--port', '1', '--windowms', '5'], {}, '--windowms')
    configError(['-x'], {}, '-x')
  })

  it('rejects env variable names used as flags', () => {
    configError(['--PORT', '1'], {}, '--PORT')
    configError(['--window_ms=5'], {}, '--window_ms')
  })

  it('rejects a flag without its value, naming the flag', () => {
    configError(['--port'], {}, '--port')
    configError(['--window-ms'], {}, '--window-ms')
  })

  it('rejects positional arguments', () => {
    configError(['8080'], {}, '8080')
  })
})

describe('loadConfig: --help', () => {
  it('--help and -h return help instead of a config', () => {
    expect(loadConfig(['--help'], {})).toEqual({ help: true })
    expect(loadConfig(['-h'], {})).toEqual({ help: true })
    expect(loadConfig(['--port', '1', '--help'], {})).toEqual({ help: true })
  })

  it('--help does not fail on invalid settings in the environment', () => {
    expect(loadConfig(['--help'], { PORT: 'abc' })).toEqual({ help: true })
  })
})

describe('helpText', () => {
  const text = helpText()
  const lines = text.split('\n')

  it('lists every flag on its own line with its env var and default', () => {
    for (const s of TABLE) {
      const line = lines.find((l) => l.trimStart().startsWith(`${s.flag} `))
      expect(line, `no help line for ${s.flag}`).toBeDefined()
      expect(line).toContain(` ${s.env} `)
      expect(line).toContain(`default ${DEFAULTS[s.key]}`)
    }
  })

  it('lists --help', () => {
    expect(text).toMatch(/--help/)
  })

  it('ends with a newline', () => {
    expect(text.endsWith('\n')).toBe(true)
  })
})
