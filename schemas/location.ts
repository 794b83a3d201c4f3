import { Type, type Static } from '@sinclair/typebox'
import { CITY_NAME_FORMAT, COUNTRY_CODE_FORMAT } from './formats.ts'

export const CountryCode = Type.String({
  format: COUNTRY_CODE_FORMAT,
  description: 'an assigned ISO 3166-1 alpha-2 country code, in any case',
  examples: ['NI']
})

export const CityName = Type.String({
  minLength: 1,
  maxLength: 100,
  format: CITY_NAME_FORMAT,
  description: 'a city name in any script: letters with or without accents, digits, spaces and . , \' ’ ( ) -, beginning with a letter or digit, ' +
    'its letters of one script (Latin may join Han, Kana or Hangul), no invisible characters (case, accents, surrounding spaces, fullwidth and styled letters do not matter)',
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
}, { additionalProperties: false })

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
}, { additionalProperties: false, description: 'Whether sales are active there, and where the answer came from', examples: [{ active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' }] })

export const UpdateResult = Type.Object({
  result: Type.Literal('Ok'),
  update: Location
}, { additionalProperties: false, description: 'Updated; the cached answer for this location is already gone' })

export const InsertResult = Type.Object({
  result: Type.Literal('Ok'),
  Insert: Location
}, { additionalProperties: false, description: 'Registered (the key "Insert" is the Flask service\'s)' })

export type LocationData = Static<typeof Location>
export type CacheOutcomeName = Static<typeof CacheOutcome>
export type AvailabilityAnswer = Static<typeof Availability>
