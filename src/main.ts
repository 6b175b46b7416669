import closeWithGrace from 'close-with-grace'
import { ConfigError, helpText, loadConfig, loggableConfig } from './config.js'
import { buildApp } from './http/app.js'
import { StatePersistence } from './store/state-persistence.js'

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
  const persistence =
    config.stateFile === undefined
      ? undefined
      : new StatePersistence(app.store, config.stateFile, config.stateIntervalMs, app.log)

  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an unexpected error')
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    // server.close() closes only the keep-alive connections idle at that moment: one
    // whose request was still in flight would stay open after its response until
    // keepAliveTimeout (65 s), past the grace delay, and the process would exit 1.
    // Close each connection as soon as it goes idle.
    const closeIdle = setInterval(() => app.server.closeIdleConnections(), 50)
    try {
      await app.close()
    } finally {
      clearInterval(closeIdle)
    }
    // After the last request, so every answered write is in the final save.
    await persistence?.stop()
    app.log.info('stopped')
  })

  await persistence?.load()
  persistence?.start()
  if (config.authToken === undefined) {
    app.log.warn('AUTH_TOKEN is not set: every route is open to anyone who can reach this address')
  }
  const address = await app.listen({ port: config.port, host: config.host })
  app.log.info({ address, config: loggableConfig(config) }, `latency-tracker listening on ${address}`)
}

main().catch((err: unknown) => {
  process.stderr.write(`latency-tracker: failed to start: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
