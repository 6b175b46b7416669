import { once } from 'node:events'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { runToExit } from './spawn-server.js'

// A setting the environment cannot honour stops the start with one line naming
// it and exit code 2, like an invalid value: no stack trace. Runs the built
// service (dist/main.js) on 127.0.0.1 only.

describe('start-up errors', () => {
  it('a PORT already in use: one line naming PORT, exit 2', async () => {
    const taken = createServer()
    taken.listen(0, '127.0.0.1')
    await once(taken, 'listening')
    const { port } = taken.address() as { port: number }
    try {
      const result = await runToExit({ PORT: String(port), STATSD_PORT: 'off' })
      expect(result.timedOut).toBe(false)
      expect(result.code, result.stderr).toBe(2)
      const lines = result.stderr.trim().split('\n')
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toContain(`PORT ${port} is already in use`)
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(result.stdout).not.toContain('listening on')
    } finally {
      taken.close()
    }
  })
})
