import { isAssignedCountryCode } from '../services/countries.ts'

export const COUNTRY_CODE_FORMAT = 'iso-3166-1-alpha-2'
export const CITY_NAME_FORMAT = 'city-name'

// Letters of any script with their combining marks, digits, and the punctuation real place names
// use ("Port-au-Prince", "St. John's", "Washington D.C."). A format rather than a pattern: Swagger
// UI checks patterns without the "u" flag, where \p{L} matches nothing and "Try it out" would
// refuse every city; it leaves unknown formats to the server.
const CITY_NAME = /^ *[\p{L}\p{N}][\p{L}\p{M}\p{N} .,'’()-]*$/u

export function isCityName (value: string): boolean {
  return CITY_NAME.test(value)
}

/** Formats our schemas use beyond JSON Schema's own; given to Fastify's Ajv and to contract tests. */
export const customFormats = {
  [COUNTRY_CODE_FORMAT]: (value: string) => isAssignedCountryCode(value),
  [CITY_NAME_FORMAT]: isCityName
}
