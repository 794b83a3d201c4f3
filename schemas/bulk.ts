import { Type, type Static } from '@sinclair/typebox'
import { ActiveFlag, CityName, CountryCode } from './location.ts'

/** The most cities a bulk change may name; a whole country needs no names at all. */
export const BULK_CITIES_MAX = 10_000

export const BulkBody = Type.Object({
  country: CountryCode,
  active: ActiveFlag,
  cities: Type.Optional(Type.Array(CityName, {
    minItems: 1,
    maxItems: BULK_CITIES_MAX,
    description: `The cities to switch (matched like \`GET /active\`), 1 to ${BULK_CITIES_MAX}; without it, every city of the country`
  }))
}, {
  additionalProperties: false,
  examples: [{ country: 'HN', active: false }, { country: 'HN', active: false, cities: ['Tegucigalpa', 'San Pedro Sula'] }]
})

export const BulkResult = Type.Object({
  result: Type.Literal('Ok'),
  country: Type.String({ examples: ['HN'] }),
  active: Type.Boolean({ description: 'The flag asked for' }),
  changed: Type.Integer({ minimum: 0, description: 'How many cities changed; those already at the flag are left alone' }),
  cities: Type.Array(Type.String(), { description: 'The cities that changed, stored spelling, sorted by city key' })
}, {
  description: 'Switched in one transaction; every changed city and the country\'s list are already gone from the cache',
  examples: [{ result: 'Ok', country: 'HN', active: false, changed: 2, cities: ['San Pedro Sula', 'Tegucigalpa'] }]
})

export type BulkAnswer = Static<typeof BulkResult>
