import { Type, type Static } from '@sinclair/typebox'

export const WhoAmI = Type.Object({
  operator: Type.String({ description: 'The token\'s name (API_TOKENS), as the history records it', examples: ['ana'] }),
  countries: Type.Union([Type.Array(Type.String({ examples: ['NI'] })), Type.Null()], {
    description: 'The only countries this token may change; null when it may change every country'
  }),
  may_write: Type.Boolean({ description: 'False for a read-only token (`name[read]:token`): it may read the history, not change cities' })
}, {
  description: 'Who this token belongs to and what it may change',
  examples: [{ operator: 'ana', countries: ['NI', 'CR'], may_write: true }]
})

export type WhoAmIAnswer = Static<typeof WhoAmI>
