import { describe, expect, it } from 'vitest'
import { type Config, ConfigError, DEFAULT_HISTOGRAM_BUCKETS, helpText, loadConfig } from '../src/config.js'
import { DEFAULT_BUCKET_BOUNDS_NS } from '../src/store/histogram-buckets.js'
import { runToExit, spawnServer } from './spawn-server.js'

function config(argv: string[], env: NodeJS.ProcessEnv): Config {
  const parsed = loadConfig(argv, env)
  if (parsed.help) throw new Error('unexpected help')
  return parsed.config
}

function error(argv: string[], env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(argv, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('HISTOGRAM_BUCKETS / --histogram-buckets', () => {
  it('defaults to 1 µs … 60 s log-spaced, the store default, in seconds', () => {
    expect(config([], {}).histogramBuckets).toEqual(DEFAULT_HISTOGRAM_BUCKETS)
    expect(DEFAULT_HISTOGRAM_BUCKETS.map((s) => Math.round(s * 1e9))).toEqual(DEFAULT_BUCKET_BOUNDS_NS)
    expect(DEFAULT_HISTOGRAM_BUCKETS[0]).toBe(0.000001)
    expect(DEFAULT_HISTOGRAM_BUCKETS.at(-1)).toBe(60)
  })

  it('reads comma-separated seconds from the environment; the flag wins', () => {
    expect(config([], { HISTOGRAM_BUCKETS: '0.001, 0.01,0.1 ,1' }).histogramBuckets).toEqual([0.001, 0.01, 0.1, 1])
    expect(config([], { HISTOGRAM_BUCKETS: '1e-3,2.5E-3,.5,10' }).histogramBuckets).toEqual([0.001, 0.0025, 0.5, 10])
    expect(config(['--histogram-buckets', '0.25,0.5'], { HISTOGRAM_BUCKETS: '1,2' }).histogramBuckets).toEqual([0.25, 0.5])
    expect(config([], { HISTOGRAM_BUCKETS: '0.000000001' }).histogramBuckets).toEqual([1e-9])
  })

  it('rounds to whole nanoseconds, the unit samples are recorded in', () => {
    expect(config([], { HISTOGRAM_BUCKETS: '0.0000000014,0.0000025004' }).histogramBuckets).toEqual([1e-9, 0.0000025])
  })

  it.each([
    ['', 'must not be empty'],
    ['abc', 'must be comma-separated numbers of seconds, got "abc"'],
    ['0.1,,0.2', 'must be comma-separated numbers of seconds, got ""'],
    ['-1', 'must be comma-separated numbers of seconds, got "-1"'],
    ['0x10', 'must be comma-separated numbers of seconds'],
    ['Infinity', 'must be comma-separated numbers of seconds'],
    ['0', 'out of range'],
    ['1e-10', 'out of range'],
    ['1e300', 'out of range'],
    ['0.1,0.01', 'must be strictly ascending (in whole nanoseconds), got 0.1 then 0.01'],
    ['0.1,0.1', 'strictly ascending'],
    ['0.0000000011,0.0000000012', 'strictly ascending'],
    [Array.from({ length: 201 }, (_, i) => i + 1).join(','), 'at most 200 bounds, got 201'],
  ])('%j is refused with a message naming the variable', (raw, message) => {
    const fromEnv = error([], { HISTOGRAM_BUCKETS: raw })
    expect(fromEnv).toContain('HISTOGRAM_BUCKETS')
    expect(fromEnv).toContain(message)
    expect(error([`--histogram-buckets=${raw}`], {})).toContain('--histogram-buckets')
  })

  it('is listed in --help with its variable', () => {
    const line = helpText()
      .split('\n')
      .find((l) => l.trimStart().startsWith('--histogram-buckets '))
    expect(line).toContain('HISTOGRAM_BUCKETS')
    expect(line).toContain('default 0.000001,0.0000025,')
  })

  it('the service exits 2 before listening on an invalid value, naming the variable', async () => {
    const result = await runToExit({ HISTOGRAM_BUCKETS: '0.5,0.1' })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('HISTOGRAM_BUCKETS must be strictly ascending')
    expect(result.stdout).not.toContain('listening')
  })

  it('a service started with it exposes exactly those bounds', async () => {
    const server = await spawnServer({ HISTOGRAM_BUCKETS: '0.0005,0.002' })
    const post = await fetch(`${server.url}/metrics/x/latency`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latency_ns: [500_000, 500_001, 3_000_000] }),
    })
    expect(post.status).toBe(202)
    const text = await (await fetch(`${server.url}/metrics?format=prometheus`)).text()
    expect(text.split('\n').filter((l) => l.startsWith('latency_tracker_latency_seconds_bucket'))).toEqual([
      'latency_tracker_latency_seconds_bucket{id="x",le="0.0005"} 1',
      'latency_tracker_latency_seconds_bucket{id="x",le="0.002"} 2',
      'latency_tracker_latency_seconds_bucket{id="x",le="+Inf"} 3',
    ])
    expect(await server.stop()).toBe(0)
  })
})
