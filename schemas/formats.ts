import { isAssignedCountryCode } from '../services/countries.ts'

export const COUNTRY_CODE_FORMAT = 'iso-3166-1-alpha-2'

/** Formats our schemas use beyond JSON Schema's own; given to Fastify's Ajv and to contract tests. */
export const customFormats = {
  [COUNTRY_CODE_FORMAT]: (value: string) => isAssignedCountryCode(value)
}
