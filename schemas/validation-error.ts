import type { FastifySchemaValidationError } from 'fastify'

/**
 * Fastify's message for a failed validation, except that a failed pattern or
 * format names what the parameter must be ("querystring/city must be a city
 * name...") rather than quoting a regular expression.
 */
export function validationError (errors: FastifySchemaValidationError[], dataVar: string): Error {
  const message = errors.map(error => {
    const where = `${dataVar}${error.instancePath}`
    const description = (error as { parentSchema?: { description?: string } }).parentSchema?.description
    if ((error.keyword === 'pattern' || error.keyword === 'format') && description !== undefined) {
      return `${where} must be ${description}`
    }
    return `${where} ${error.message}`
  }).join(', ')
  return new Error(message)
}
