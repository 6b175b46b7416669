import { describe, expect, it } from 'vitest'
import { type Config, ConfigError, helpText, loadConfig } from '../src/config.js'

function config(argv: string[] = [], env: NodeJS.ProcessEnv = {}): Config {
  const parsed = loadConfig(argv, env)
  if (parsed.help) throw new Error('unexpected help')
  return parsed.config
}

function configError(argv: string[], env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(argv, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('STATSD_PORT and STATSD_HOST', () => {
  it('default to 8125 and to the value of HOST', () => {
    expect(config()).toMatchObject({ statsdPort: 8125, statsdHost: '127.0.0.1' })
    expect(config([], { HOST: '10.1.2.3' })).toMatchObject({ statsdHost: '10.1.2.3' })
    expect(config(['--host', '::1'])).toMatchObject({ statsdHost: '::1' })
  })

  it('are read from the environment, and flags win', () => {
    expect(config([], { STATSD_PORT: '9125', STATSD_HOST: '10.0.0.5' })).toMatchObject({ statsdPort: 9125, statsdHost: '10.0.0.5' })
    expect(config(['--statsd-port', '0', '--statsd-host', '0.0.0.0'], { STATSD_PORT: '9125', STATSD_HOST: '10.0.0.5' })).toMatchObject({
      statsdPort: 0,
      statsdHost: '0.0.0.0',
    })
    expect(config([], { HOST: '0.0.0.0', STATSD_HOST: '127.0.0.1' })).toMatchObject({ host: '0.0.0.0', statsdHost: '127.0.0.1' })
  })

  it('STATSD_PORT takes 0..65535 or off', () => {
    expect(config([], { STATSD_PORT: 'off' }).statsdPort).toBe('off')
    expect(config(['--statsd-port', 'off']).statsdPort).toBe('off')
    expect(config([], { STATSD_PORT: '65535' }).statsdPort).toBe(65535)
    expect(config([], { STATSD_PORT: ' 8126 ' }).statsdPort).toBe(8126)
    for (const bad of ['65536', '-1', 'abc', '1.5', '', 'OFF', 'on', '0x10']) {
      expect(configError([], { STATSD_PORT: bad })).toContain('STATSD_PORT')
    }
    expect(configError(['--statsd-port', '70000'], {})).toContain('--statsd-port')
  })

  it('STATSD_HOST must not be empty', () => {
    expect(configError([], { STATSD_HOST: '' })).toContain('STATSD_HOST')
  })

  it('--help lists both, with their defaults', () => {
    const lines = helpText().split('\n')
    expect(lines.find((l) => l.trimStart().startsWith('--statsd-port '))).toMatch(/STATSD_PORT .*\(default 8125\)$/)
    expect(lines.find((l) => l.trimStart().startsWith('--statsd-host '))).toMatch(/STATSD_HOST .*\(default HOST's value\)$/)
  })
})
