import { Type, type Static } from '@sinclair/typebox'
import { CityName, CountryCode } from './location.ts'

export const HistoryQuery = Type.Object({
  country: CountryCode,
  city: CityName,
  // A string: query values are not coerced (app.ts), and this pattern is exactly 1 to 500.
  limit: Type.Optional(Type.String({
    pattern: '^(500|[1-4][0-9]{2}|[1-9][0-9]?)$',
    description: 'How many changes, newest first: 1 to 500 (default 50)',
    examples: ['50']
  }))
}, { additionalProperties: false })

const Flag = (description: string) => Type.Union([Type.Boolean(), Type.Null()], { description })
const Nullable = (description: string, examples: string[]) => Type.Union([Type.String({ examples }), Type.Null()], { description })

export const Change = Type.Object({
  action: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete')]),
  active: Flag('The flag after the change; null for a delete'),
  previous: Flag('The flag before the change; null for a create'),
  operator: Nullable('The name of the token that made the change; null for a change made outside the API (demo data, SQL)', ['ana']),
  requestId: Nullable('The request that made it (X-Request-Id, or the one the service gave it)', ['8e0f1c52-3b7d-4c6a-9f0e-2d5b7a9c1e34']),
  at: Type.String({ format: 'date-time', description: 'When it was committed, UTC with milliseconds', examples: ['2026-12-01T19:04:31.123Z'] })
}, { additionalProperties: false })

export const History = Type.Object({
  country: Type.String({ examples: ['NI'] }),
  city: Type.String({ description: 'The stored spelling, or for a deleted location the last one', examples: ['Managua'] }),
  changes: Type.Array(Change, { description: 'Newest first; empty for a location not changed since the history began' })
}, {
  additionalProperties: false,
  description: 'Who changed a location, how, and when',
  examples: [{
    country: 'NI',
    city: 'Managua',
    changes: [{ action: 'update', active: false, previous: true, operator: 'ana', requestId: '8e0f1c52-3b7d-4c6a-9f0e-2d5b7a9c1e34', at: '2026-12-01T19:04:31.123Z' }]
  }]
})

export type HistoryAnswer = Static<typeof History>
