import pino, { type Logger } from 'pino'
import type { LogLevel } from './config.js'

/**
 * The service's one logger (pino), made by the composition root and handed to
 * every part: persistence, each door. Tokens never reach the logs: Fastify's
 * request serializer drops headers, and headers logged any other way (raw, or
 * nested one level) are censored.
 */
export function createLogger(level: LogLevel, stream?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: ['headers.authorization', '*.headers.authorization'], censor: '[redacted]' } }
  return stream === undefined ? pino(options) : pino(options, stream as pino.DestinationStream)
}
