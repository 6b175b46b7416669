import closeWithGrace from 'close-with-grace'
import { ConfigError, helpText, loadConfig, loggableConfig } from './config.js'
import { raiseMallocTrimThreshold } from './malloc-trim.js'
import { startService } from './service.js'

/**
 * How long a stop may take beyond SHUTDOWN_GRACE_MS (the final save included)
 * before the process exits anyway, with 1: a backstop for a stop that hangs,
 * such as a save to a disk that never answers.
 */
const STOP_BACKSTOP_MS = 60_000

/** Parses the configuration and hands it to the composition root (service.ts). */
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
  raiseMallocTrimThreshold()
  let service
  try {
    service = await startService(config)
  } catch (err) {
    // A setting the environment cannot honour (a port in use, a state file that
    // cannot be written): one line naming it, exit 2, as for an invalid value.
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`latency-tracker: cannot start: ${err.message}\n`)
    process.exit(2)
  }
  const log = service.log
  // A stop that fails (the final save of the state file) is logged through pino and
  // exits 1, as do a stop that outlasts the backstop and a second signal.
  const logger = { error: (problem: unknown) => (problem instanceof Error ? log.error({ err: problem }, problem.message) : log.error(String(problem))) }
  closeWithGrace({ delay: config.shutdownGraceMs + STOP_BACKSTOP_MS, logger }, async ({ signal, err }) => {
    if (err !== undefined) log.error({ err }, 'shutting down after an unexpected error')
    else log.info({ signal }, 'shutting down: finishing in-flight requests')
    await service.stop()
    log.info('stopped')
  })
  log.info({ address: service.address, config: loggableConfig(config) }, `latency-tracker listening on ${service.address}`)
}

main().catch((err: unknown) => {
  process.stderr.write(`latency-tracker: failed to start: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
