import { describe, expect, it } from 'vitest'
import { MAX_HISTOGRAM_BUCKETS, SETTINGS, helpText } from '../src/config.js'

// --help gives each setting's range and default, as the README's table does.

const lines = helpText().split('\n')
const lineOf = (flag: string) => lines.find((l) => l.trimStart().startsWith(`--${flag} `))

describe('--help', () => {
  it.each(SETTINGS.filter((s) => s.kind === 'integer').map((s) => [s.flag, s] as const))('--%s shows its range and default', (flag, s) => {
    if (s.kind !== 'integer') throw new Error('unreachable')
    expect(lineOf(flag)).toContain(`(${s.min} to ${s.max}; default ${s.default})`)
  })

  it('--histogram-buckets shows how many bounds it takes, their range and the default', () => {
    const line = lineOf('histogram-buckets')
    expect(line).toContain(`at most ${MAX_HISTOGRAM_BUCKETS} bounds, each 0.000000001 to 9007199.254740991; default 0.000001,`)
  })
})
