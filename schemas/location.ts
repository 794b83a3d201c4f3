import { Type, type Static } from '@sinclair/typebox'
import { COUNTRY_CODE_FORMAT } from './formats.ts'

export const CountryCode = Type.String({
  format: COUNTRY_CODE_FORMAT,
  description: 'an assigned ISO 3166-1 alpha-2 country code, in any case',
  examples: ['NI']
})

// Latin letters with their accents (precomposed or combining), digits, and the punctuation
// real place names use ("Port-au-Prince", "St. John's", "Washington D.C."). Written as
// code-point ranges rather than \p{L}: Swagger UI checks patterns without the regular
// expression "u" flag, where \p{L} matches nothing and "Try it out" would refuse every city.
const LATIN_LETTER = 'A-Za-z0-9\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u024F\\u1E00-\\u1EFF'
const COMBINING_ACCENT = '\\u0300-\\u036F'

export const CityName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: `^\\s*[${LATIN_LETTER}][${LATIN_LETTER}${COMBINING_ACCENT} .,'’()-]*$`,
  description: 'a city name in Latin script: letters with or without accents, digits, spaces and . , \' ’ ( ) - (case, accents and surrounding spaces do not matter)',
  examples: ['Managua']
})

/** The Flask service's clients send "True"/"False" strings; JSON booleans are the norm. */
export const ActiveFlag = Type.Union([
  Type.Boolean(),
  Type.String({ pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$', description: '"True" or "False", in any case' })
], { description: 'Whether sales are active: a boolean or, as the Flask service\'s clients send it, "True"/"False" in any case', examples: [true] })

export const LocationQuery = Type.Object({
  country: CountryCode,
  city: CityName
}, { additionalProperties: false })

export const LocationBody = Type.Object({
  country: CountryCode,
  city: CityName,
  active: ActiveFlag
}, { additionalProperties: false, examples: [{ country: 'NI', city: 'Managua', active: true }] })

export const Location = Type.Object({
  country: Type.String({ examples: ['NI'] }),
  city: Type.String({ description: 'The stored spelling', examples: ['Managua'] }),
  active: Type.Boolean()
})

export const CacheOutcome = Type.Union([
  Type.Literal('hit', { description: 'Served from Redis' }),
  Type.Literal('miss', { description: 'Read from MySQL, then cached' }),
  Type.Literal('bypass', { description: 'Read from MySQL without the cache (Redis unreachable, or an invalidation still pending)' }),
  Type.Literal('stale', { description: 'MySQL unreachable: the last known value, kept past its TTL for the grace period' })
])

export const Availability = Type.Object({
  active: Type.Boolean(),
  country: Type.String({ examples: ['NI'] }),
  city: Type.String({ description: 'The stored spelling', examples: ['Managua'] }),
  redis_cache: CacheOutcome
}, { description: 'Whether sales are active there, and where the answer came from', examples: [{ active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' }] })

export const UpdateResult = Type.Object({
  result: Type.Literal('Ok'),
  update: Location
}, { description: 'Updated; the cached answer for this location is already gone' })

export const InsertResult = Type.Object({
  result: Type.Literal('Ok'),
  Insert: Location
}, { description: 'Registered (the key "Insert" is the Flask service\'s)' })

export type LocationData = Static<typeof Location>
export type CacheOutcomeName = Static<typeof CacheOutcome>
export type AvailabilityAnswer = Static<typeof Availability>
