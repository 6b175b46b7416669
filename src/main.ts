import closeWithGrace from 'close-with-grace'
import { ConfigError, helpText, loadConfig } from './config.js'
import { buildApp } from './http/app.js'

/** How long in-flight requests get to finish on SIGTERM/SIGINT before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000

async function main(): Promise<void> {
  let parsed
  try {
    parsed = loadConfig(process.argv.slice(2), process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`latency-tracker: invalid configuration: ${err.message}\n`)
    process.exit(2)
  }
  if (parsed.help) {
    process.stdout.write(helpText())
    return
  }
  const { config } = parsed
  const app = buildApp(config)

  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an unexpected error')
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    await app.close()
    app.log.info('stopped')
  })

  const address = await app.listen({ port: config.port, host: config.host })
  app.log.info({ address, config }, `latency-tracker listening on ${address}`)
}

main().catch((err: unknown) => {
  process.stderr.write(`latency-tracker: failed to start: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
