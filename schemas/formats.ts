import { isAssignedCountryCode } from '../domain/countries.ts'
import { lookAlikeProblem } from '../domain/look-alike-names.ts'

export const COUNTRY_CODE_FORMAT = 'iso-3166-1-alpha-2'
export const CITY_NAME_FORMAT = 'city-name'

// Letters of any script with their combining marks, digits, and the punctuation real place names
// use ("Port-au-Prince", "St. John's", "Washington D.C."). A format rather than a pattern: Swagger
// UI checks patterns without the "u" flag, where \p{L} matches nothing and "Try it out" would
// refuse every city; it leaves unknown formats to the server.
const CITY_NAME = /^ *[\p{L}\p{N}][\p{L}\p{M}\p{N} .,'’()-]*$/u
// The same rule for a name of printable ASCII alone, most names asked for: such a name is its own NFKC
// form and has no look-alikes, so this answers for it without the Unicode checks.
const ASCII_CITY_NAME = /^ *[A-Za-z0-9][A-Za-z0-9 .,'()-]*$/
// city and city_key are VARCHAR(100), and folding may lengthen a name ("ﬃ" is "ffi").
const MAX_CITY_CHARACTERS = 100

/** Why a city name, folded to NFKC, is refused beyond what its pattern says, or undefined. */
function foldedCityProblem (name: string): string | undefined {
  if (name.length > MAX_CITY_CHARACTERS && [...name].length > MAX_CITY_CHARACTERS) {
    return `it is longer than ${MAX_CITY_CHARACTERS} characters once its compatibility characters are folded`
  }
  return lookAlikeProblem(name)
}

/** Why a city name of the right characters is refused nonetheless ("it mixes letters of..."), or undefined. */
export function cityNameProblem (value: string): string | undefined {
  const name = value.normalize('NFKC')
  return CITY_NAME.test(name) ? foldedCityProblem(name) : undefined
}

// A name is checked as it is folded and stored (domain/location.ts): fullwidth and mathematical letters as plain ones.
export function isCityName (value: string): boolean {
  if (value.length <= MAX_CITY_CHARACTERS && ASCII_CITY_NAME.test(value)) return true
  const name = value.normalize('NFKC')
  return CITY_NAME.test(name) && foldedCityProblem(name) === undefined
}

/** Formats our schemas use beyond JSON Schema's own; given to Fastify's Ajv and to contract tests. */
export const customFormats = {
  [COUNTRY_CODE_FORMAT]: (value: string) => isAssignedCountryCode(value),
  [CITY_NAME_FORMAT]: isCityName
}

/** For the validation message: what is wrong with a value a format refused, where its description alone does not say. */
export const formatProblems: Record<string, (value: string) => string | undefined> = {
  [CITY_NAME_FORMAT]: cityNameProblem
}
