import { Type } from '@sinclair/typebox'

export const ConsoleCountries = Type.Object({
  countries: Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), {
    description: 'Every assigned ISO 3166-1 alpha-2 code, sorted: the countries a city may be registered in'
  })
}, { description: 'The countries the console offers', examples: [{ countries: ['AD', 'AE', 'AF'] }] })
