import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError } from 'fastify'
import { InternalError, NotModified, PayloadTooLarge, ServiceUnavailable, TaggedHeaders, UnsupportedMediaType } from '../schemas/errors.ts'
import {
  BulkEvaluationFailure, BulkEvaluationSuccess, BulkQuery, EvaluationFailure, EvaluationRequest, EvaluationSuccess, FLAG_KEY, FlagKeyParams, FlagNotFound
} from '../schemas/ofrep.ts'
import { evaluateSalesActive, locationOfContext, type ContextLocation } from '../services/ofrep/sales-active.ts'
import { sendTagged } from './active/conditional.ts'

const ofrep = { tags: ['ofrep'], security: [] }
// The protocol's ADR 0008 default: a hidden page's provider closes its stream after this, and re-fetches when shown.
const INACTIVITY_DELAY_SEC = 120
const PARSE_ERRORS = new Set(['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY'])

/** Where a provider hears that this location's flag may have changed. */
const eventStreamOf = ({ country, city }: ContextLocation) => ({
  type: 'sse' as const,
  endpoint: { requestUri: `/ofrep/v1/events?country=${encodeURIComponent(country.toUpperCase())}&city=${encodeURIComponent(city.trim())}` },
  inactivityDelaySec: INACTIVITY_DELAY_SEC
})

/**
 * OpenFeature's remote evaluation protocol for one boolean flag,
 * `sales-active`, whose context is a location. Its refusals are in the
 * protocol's shape (errorCode, errorDetails), which its providers read; a
 * 5xx keeps the service's, which the protocol's generalErrorResponse allows.
 */
const ofrepRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.setErrorHandler<FastifyError>(function (error, request, reply) {
    if (error.statusCode !== 400) throw error
    const { key } = request.params as { key?: string }
    return reply.code(400).header('cache-control', 'no-store').send({
      ...(key === undefined ? {} : { key }),
      errorCode: error.code !== undefined && PARSE_ERRORS.has(error.code) ? 'PARSE_ERROR' : 'INVALID_CONTEXT',
      errorDetails: error.message
    })
  })

  fastify.post('/ofrep/v1/evaluate/flags/:key', {
    schema: {
      ...ofrep,
      operationId: 'evaluateFlag',
      summary: 'Evaluate sales-active for a location (OFREP, single flag)',
      description: 'The context\'s location: `country` and `city`, or a `targetingKey` `COUNTRY/City`. Read through the cache like `GET /active` (`metadata.redis_cache`). ' +
        'A location not registered evaluates to `false` with `reason: STATIC` and `variant: unregistered`.',
      params: FlagKeyParams,
      body: EvaluationRequest,
      response: { 200: EvaluationSuccess, 400: EvaluationFailure, 404: FlagNotFound, 413: PayloadTooLarge, 415: UnsupportedMediaType, 500: InternalError, 503: ServiceUnavailable }
    }
  }, async (request, reply) => {
    const { key } = request.params
    if (key !== FLAG_KEY) return reply.code(404).send({ key, errorCode: 'FLAG_NOT_FOUND' as const, errorDetails: `Flag '${key}' was not found` })
    reply.header('cache-control', 'no-store')
    return (await evaluateSalesActive(fastify.availability, locationOfContext(request.body.context))).body
  })

  fastify.post('/ofrep/v1/evaluate/flags', {
    schema: {
      ...ofrep,
      operationId: 'evaluateFlagsBulk',
      summary: 'Evaluate every flag (sales-active) for a location (OFREP, bulk)',
      description: 'As the single evaluation, in `flags`, with an `ETag`: `If-None-Match` gets `304` until the answer changes. ' +
        '`eventStreams` names this location\'s stream of `refetchEvaluation` messages (`GET /ofrep/v1/events`), so a provider re-fetches on a change instead of on a timer.',
      querystring: BulkQuery,
      body: EvaluationRequest,
      response: { 200: { ...BulkEvaluationSuccess, headers: TaggedHeaders }, 304: NotModified, 400: BulkEvaluationFailure, 413: PayloadTooLarge, 415: UnsupportedMediaType, 500: InternalError, 503: ServiceUnavailable }
    }
  }, async (request, reply) => {
    const location = locationOfContext(request.body.context)
    const { body, etag } = await evaluateSalesActive(fastify.availability, location)
    return sendTagged(request, reply, { body: { flags: [body], eventStreams: [eventStreamOf(location)] }, etag })
  })
}

export default ofrepRoutes
