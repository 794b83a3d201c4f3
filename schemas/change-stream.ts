import { Type, type Static } from '@sinclair/typebox'
import { CityName, CountryCode } from './location.ts'

export const ChangeStreamQuery = Type.Object({
  country: Type.Optional(CountryCode),
  city: Type.Optional(CityName)
}, { additionalProperties: false })

export const ChangeStreamHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({
    description: 'The `id` of the last event received (EventSource sends it when it reconnects): every matching change after it is sent first, in order. ' +
      'One too old to replay, or not an id of ours, gets `event: reset`'
  }))
})

/** The stream itself, as OpenAPI describes it: text, written for as long as the connection lasts. */
export const EventStream = (description: string) => ({
  description,
  content: { 'text/event-stream': { schema: Type.String({ description: 'Server-Sent Events' }) } }
})

/** The fields of a `change` event's data (docs/change-stream.md). */
export const ChangeEventData = Type.Object({
  country: Type.String({ examples: ['NI'] }),
  city: Type.String({ description: 'The spelling as of this change (before it, for a delete)', examples: ['Managua'] }),
  active: Type.Union([Type.Boolean(), Type.Null()], { description: 'The flag after the change; null for a delete' }),
  action: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete')]),
  version: Type.Integer({ minimum: 1, description: 'The location\'s version after the change' }),
  changed_at: Type.String({ format: 'date-time' })
}, { additionalProperties: false })
export type ChangeEvent = Static<typeof ChangeEventData>
