import { Type, type Static } from '@sinclair/typebox'
import { CacheOutcome, CountryCode } from './location.ts'

export const CITIES_PAGE_DEFAULT = 100
export const CITIES_PAGE_MAX = 500

export const CitiesQuery = Type.Object({
  country: CountryCode,
  active: Type.Optional(Type.String({
    pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$',
    description: 'Only the cities where sales are (`true`) or are not (`false`) active; in any case',
    examples: ['true']
  })),
  // A string: query values are not coerced (app.ts), and this pattern is exactly 1 to CITIES_PAGE_MAX.
  limit: Type.Optional(Type.String({
    pattern: '^(500|[1-4][0-9]{2}|[1-9][0-9]?)$',
    description: `How many cities a page holds at most: 1 to ${CITIES_PAGE_MAX} (default ${CITIES_PAGE_DEFAULT})`,
    examples: ['100']
  })),
  cursor: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9._-]{1,1000}$',
    description: 'The `next_cursor` of the previous page; without it, the first page',
    examples: ['c1.Z3JhbmFkYQ']
  }))
}, { additionalProperties: false })

export const ListedCity = Type.Object({
  city: Type.String({ description: 'The stored spelling', examples: ['Managua'] }),
  active: Type.Boolean()
}, { additionalProperties: false })

export const Cities = Type.Object({
  country: Type.String({ examples: ['NI'] }),
  cities: Type.Array(ListedCity, { description: 'One page, sorted by the city key (lower case, without accents)' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass it as `cursor` (with the same `active` and `limit`) for the next page; null on the last page'
  }),
  redis_cache: CacheOutcome
}, {
  additionalProperties: false,
  description: 'A page of a country\'s cities and whether sales are active in each, and where the answer came from',
  examples: [{
    country: 'NI',
    cities: [{ city: 'Granada', active: false }, { city: 'León', active: false }, { city: 'Managua', active: true }],
    next_cursor: null,
    redis_cache: 'hit'
  }]
})

export type CitiesAnswer = Static<typeof Cities>
