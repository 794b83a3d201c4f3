import type { FastifySchemaValidationError } from 'fastify'
import { formatProblems } from './formats.ts'

/**
 * Fastify's message for a failed validation, except that a failed pattern or
 * format names what the parameter must be ("querystring/city must be a city
 * name...") rather than quoting a regular expression, and says what is wrong
 * where the description alone does not ("...: it mixes letters of different scripts").
 */
export function validationError (errors: FastifySchemaValidationError[], dataVar: string): Error {
  const message = errors.map(error => {
    const where = `${dataVar}${error.instancePath}`
    const description = (error as { parentSchema?: { description?: string } }).parentSchema?.description
    if ((error.keyword === 'pattern' || error.keyword === 'format') && description !== undefined) {
      const describe = error.keyword === 'format' ? formatProblems[String(error.params.format)] : undefined
      const problem = describe?.(String((error as { data?: unknown }).data))
      return problem === undefined ? `${where} must be ${description}` : `${where} must be ${description}: ${problem}`
    }
    return `${where} ${error.message}`
  }).join(', ')
  return new Error(message)
}
