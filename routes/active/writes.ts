import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { BulkBody, BulkResult } from '../../schemas/bulk.ts'
import { Conflict, writeErrors } from '../../schemas/errors.ts'
import { InsertResult, LocationBody, LocationQuery, UpdateResult } from '../../schemas/location.ts'
import type { Writer } from '../../services/availability/service.ts'
import { writeRefusal } from '../../services/auth/write-scope.ts'

const toBoolean = (active: boolean | string) => typeof active === 'boolean' ? active : active.toLowerCase() === 'true'

const operatorsOnly = { tags: ['operators'], security: [{ bearerAuth: [] }] }

// A bulk body names up to 10,000 cities (schemas/bulk.ts), up to 400 bytes each in UTF-8, with JSON's quotes and commas.
const BULK_BODY_LIMIT_BYTES = 4 * 1024 * 1024

/** Who a write is done for, as the service records it; refused 403 when the token's scope does not cover the country. */
function writerOf (request: FastifyRequest, country: string): Writer {
  const refusal = writeRefusal(request.operatorScope, country)
  if (refusal !== undefined) throw request.server.httpErrors.forbidden(refusal)
  return { operator: request.operator, requestId: request.id }
}

/** Switch, register and remove cities: registered by routes/operators.ts, behind the operators' bearer auth. */
const writeRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.put('/active', {
    schema: {
      ...operatorsOnly,
      operationId: 'setAvailability',
      summary: 'Switch sales on or off in a city',
      body: LocationBody,
      response: { 200: UpdateResult, ...writeErrors }
    }
  }, async (request) => {
    const { country, city, active } = request.body
    return { result: 'Ok' as const, update: await fastify.availability.setActive(country, city, toBoolean(active), writerOf(request, country)) }
  })

  fastify.post('/active', {
    schema: {
      ...operatorsOnly,
      operationId: 'createLocation',
      summary: 'Register a new city',
      body: LocationBody,
      response: { 201: InsertResult, ...writeErrors, 409: Conflict }
    }
  }, async (request, reply) => {
    const { country, city, active } = request.body
    const inserted = await fastify.availability.create(country, city, toBoolean(active), writerOf(request, country))
    return reply.code(201).send({ result: 'Ok', Insert: inserted })
  })

  fastify.delete('/active', {
    schema: {
      ...operatorsOnly,
      operationId: 'deleteLocation',
      summary: 'Remove a city',
      querystring: LocationQuery,
      response: { 204: Type.Null({ description: 'Removed' }), ...writeErrors }
    }
  }, async (request, reply) => {
    await fastify.availability.remove(request.query.country, request.query.city, writerOf(request, request.query.country))
    return reply.code(204).send(null)
  })

  fastify.put('/active/cities', {
    bodyLimit: BULK_BODY_LIMIT_BYTES,
    schema: {
      ...operatorsOnly,
      operationId: 'setAvailabilityOfCities',
      summary: 'Switch sales on or off in many cities of a country at once',
      description: 'Every city of the country, or those named in `cities` (matched like `GET /active`), in one transaction: ' +
        'a name that matches no city is a `404` naming it, and nothing changes. Cities already at the flag are left alone ' +
        '(no history row, no new version); each city that changes gets its history row, and it and the country\'s list are ' +
        'invalidated before the answer. The body may be up to 4 MiB.',
      body: BulkBody,
      response: { 200: BulkResult, ...writeErrors }
    }
  }, async (request) => {
    const { country, cities, active } = request.body
    const change = await fastify.availability.setActiveMany(country, cities, toBoolean(active), writerOf(request, country))
    return { result: 'Ok' as const, ...change }
  })
}

export default writeRoutes
