import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify'
import { isScannedBody } from './batch-body.js'

/**
 * Fastify's own validator compiler (@fastify/ajv-compiler, with the app's Ajv
 * options), except where the work is done already:
 *   - a body validator passes a body the latency scanner produced (batch-body.ts):
 *     the scanner accepts only what the body schema accepts;
 *   - POST routes do not run their params schema: they hand the id to the
 *     domain ingest API, which checks it (ingest.ts; an id the store holds was
 *     checked when it was created), and answers a bad one with the same 400.
 *     The schema stays on the route for the OpenAPI document.
 * Both were per-request work the baseline does not do (bench S1-CPU).
 */
export const routeValidators: NonNullable<FastifyServerOptions['schemaController']>['compilersFactory'] = {
  buildValidator: ((externalSchemas: Record<string, unknown>, options: unknown) => {
    const compile = (AjvCompiler() as unknown as AjvBuild)(externalSchemas, options)
    return (route: RouteSchema): Validator => {
      if (route.httpPart === 'params' && route.method === 'POST') return passes
      const validate = compile(route)
      if (route.httpPart !== 'body') return validate
      const validateBody: Validator = (data: unknown) => {
        if (isScannedBody(data)) return true
        const valid = validate(data)
        validateBody.errors = validate.errors
        return valid
      }
      return validateBody
    }
  }) as never,
}

const passes: Validator = () => true

type RouteSchema = Parameters<FastifySchemaCompiler<unknown>>[0]
type Validator = ReturnType<FastifySchemaCompiler<unknown>>
/** What @fastify/ajv-compiler's factory returns at run time (its type declarations say otherwise). */
type AjvBuild = (externalSchemas: unknown, options: unknown) => FastifySchemaCompiler<unknown>
