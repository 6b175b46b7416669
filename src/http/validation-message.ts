import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

/**
 * Fastify joins every Ajv error into the message. For `latency_ns`, which is an
 * integer or an array (anyOf), that reads "must be integer, must be array, must
 * match a schema in anyOf" even when the real problem is "must be >= 1". Keep
 * the errors that say what is wrong: drop the anyOf summary, and drop type
 * mismatches of the branch the value was not meant for when another error
 * explains the failure; merge the remaining type errors ("must be integer or array").
 */
export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const relevant = errors.filter((e) => e.keyword !== 'anyOf')
  const specific = relevant.filter((e) => e.keyword !== 'type')
  const chosen = specific.length > 0 ? specific : relevant
  const messages = new Map<string, string[]>()
  for (const e of chosen) {
    const where = `${dataVar}${e.instancePath}`
    const text =
      e.keyword === 'type'
        ? `must be ${String(e.params.type)}`
        : e.keyword === 'enum'
          ? `${e.message}: ${(e.params.allowedValues as unknown[]).join(', ')}`
          : (e.message ?? 'is invalid')
    const list = messages.get(where) ?? []
    if (!list.includes(text)) list.push(text)
    messages.set(where, list)
  }
  const parts = [...messages].map(([where, texts]) =>
    texts.every((t) => t.startsWith('must be ')) && texts.length > 1
      ? `${where} must be ${texts.map((t) => t.slice(8)).join(' or ')}`
      : `${where} ${texts.join(', ')}`,
  )
  return new Error(parts.join('; '))
}
