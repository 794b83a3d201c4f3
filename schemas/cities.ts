import { Type, type Static } from '@sinclair/typebox'
import { CacheOutcome, CountryCode } from './location.ts'

export const CitiesQuery = Type.Object({
  country: CountryCode,
  active: Type.Optional(Type.String({
    pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$',
    description: 'Only the cities where sales are (`true`) or are not (`false`) active; in any case',
    examples: ['true']
  }))
}, { additionalProperties: false })

export const ListedCity = Type.Object({
  city: Type.String({ description: 'The stored spelling', examples: ['Managua'] }),
  active: Type.Boolean()
})

export const Cities = Type.Object({
  country: Type.String({ examples: ['NI'] }),
  cities: Type.Array(ListedCity, { description: 'Sorted by the city key (lower case, without accents)' }),
  redis_cache: CacheOutcome
}, {
  description: 'A country\'s cities and whether sales are active in each, and where the answer came from',
  examples: [{
    country: 'NI',
    cities: [{ city: 'Granada', active: false }, { city: 'León', active: false }, { city: 'Managua', active: true }],
    redis_cache: 'hit'
  }]
})

export type CitiesAnswer = Static<typeof Cities>
