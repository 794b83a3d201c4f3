import { Type, type Static } from '@sinclair/typebox'

// OpenFeature Remote Evaluation Protocol (OFREP) 0.3.0: the shapes of its OpenAPI document
// (open-feature/protocol, service/openapi.yaml) that one boolean flag needs, as that document names them.

export const FLAG_KEY = 'sales-active'

const Metadata = Type.Record(Type.String(), Type.Union([Type.Boolean(), Type.String(), Type.Number()]), {
  description: 'Arbitrary metadata: here `redis_cache` (where the answer came from), `registered`, and the location as stored'
})

export const EvaluationContext = Type.Object({
  targetingKey: Type.Optional(Type.String({ description: 'The location as `COUNTRY/City` (`NI/Managua`), when `country` and `city` are not given' })),
  country: Type.Optional(Type.String({ description: 'ISO 3166-1 alpha-2, in any case' })),
  city: Type.Optional(Type.String({ description: 'Matched like GET /active: whatever its case, accents or surrounding spaces' }))
}, {
  additionalProperties: true,
  description: 'The location to evaluate `sales-active` for: `country` and `city`, or a `targetingKey` `COUNTRY/City`; other properties are ignored',
  examples: [{ targetingKey: 'NI/Managua' }, { country: 'NI', city: 'Managua' }]
})

export const EvaluationRequest = Type.Object({ context: EvaluationContext }, { description: 'evaluationRequest / bulkEvaluationRequest' })

export const FlagKeyParams = Type.Object({ key: Type.String({ description: 'The flag\'s key: only `sales-active` exists', examples: [FLAG_KEY] }) })

export const EvaluationReason = Type.Union([
  Type.Literal('STATIC', { description: 'The location is not registered: no sales, whatever the context says' }),
  Type.Literal('TARGETING_MATCH', { description: 'The location is registered: its flag' }),
  Type.Literal('SPLIT'), Type.Literal('DISABLED'), Type.Literal('UNKNOWN')
])

export const EvaluationSuccess = Type.Object({
  key: Type.String({ examples: [FLAG_KEY] }),
  value: Type.Boolean({ description: 'Whether sales are active in the context\'s location' }),
  reason: EvaluationReason,
  variant: Type.Union([Type.Literal('active'), Type.Literal('inactive'), Type.Literal('unregistered')], {
    description: '`active` or `inactive` for a registered location, `unregistered` for one that is not (value false)'
  }),
  metadata: Metadata
}, {
  description: 'evaluationSuccess (a booleanFlag)',
  examples: [{ key: FLAG_KEY, value: true, reason: 'TARGETING_MATCH', variant: 'active', metadata: { redis_cache: 'hit', registered: true, country: 'NI', city: 'Managua' } }]
})

const ErrorDetails = Type.String({ description: 'What was wrong, for a person' })

export const EvaluationFailure = Type.Object({
  key: Type.String({ examples: [FLAG_KEY] }),
  errorCode: Type.Union([Type.Literal('PARSE_ERROR'), Type.Literal('TARGETING_KEY_MISSING'), Type.Literal('INVALID_CONTEXT'), Type.Literal('GENERAL')]),
  errorDetails: Type.Optional(ErrorDetails)
}, { description: 'evaluationFailure: the context names no location we can read', examples: [{ key: FLAG_KEY, errorCode: 'INVALID_CONTEXT', errorDetails: 'context.country is missing' }] })

export const FlagNotFound = Type.Object({
  key: Type.String(),
  errorCode: Type.Literal('FLAG_NOT_FOUND'),
  errorDetails: Type.Optional(ErrorDetails)
}, { description: 'flagNotFound: only `sales-active` exists', examples: [{ key: 'dark-mode', errorCode: 'FLAG_NOT_FOUND', errorDetails: 'Flag \'dark-mode\' was not found' }] })

export const BulkEvaluationFailure = Type.Object({
  errorCode: Type.String({ examples: ['INVALID_CONTEXT'] }),
  errorDetails: Type.Optional(ErrorDetails)
}, { description: 'bulkEvaluationFailure: the context names no location we can read' })

export const EventStreamEntry = Type.Object({
  type: Type.Literal('sse'),
  endpoint: Type.Object({
    requestUri: Type.String({ pattern: '^/', description: 'Path and query, on the OFREP base URL\'s origin' })
  }),
  inactivityDelaySec: Type.Integer({ minimum: 1 })
}, { description: 'eventStream: where `refetchEvaluation` messages for this location are sent (GET /ofrep/v1/events)' })

export const BulkEvaluationSuccess = Type.Object({
  flags: Type.Array(EvaluationSuccess, { description: 'The one flag, `sales-active`, for the context\'s location' }),
  eventStreams: Type.Array(EventStreamEntry)
}, {
  description: 'bulkEvaluationSuccess',
  examples: [{
    flags: [{ key: FLAG_KEY, value: true, reason: 'TARGETING_MATCH', variant: 'active', metadata: { redis_cache: 'hit', registered: true, country: 'NI', city: 'Managua' } }],
    eventStreams: [{ type: 'sse', endpoint: { requestUri: '/ofrep/v1/events?country=NI&city=Managua' }, inactivityDelaySec: 120 }]
  }]
})

export const BulkQuery = Type.Object({
  flagConfigEtag: Type.Optional(Type.String({ description: 'Sent by a provider re-fetching on an event stream\'s message; not needed here, accepted' })),
  flagConfigLastModified: Type.Optional(Type.String({ description: 'Sent by a provider re-fetching on an event stream\'s message; not needed here, accepted' }))
}, { additionalProperties: false })

export type EvaluationContextData = Static<typeof EvaluationContext>
export type EvaluationSuccessData = Static<typeof EvaluationSuccess>
