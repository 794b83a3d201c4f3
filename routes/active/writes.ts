import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { Conflict, writeErrors } from '../../schemas/errors.ts'
import { InsertResult, LocationBody, LocationQuery, UpdateResult } from '../../schemas/location.ts'
import type { Writer } from '../../services/availability/service.ts'

const toBoolean = (active: boolean | string) => typeof active === 'boolean' ? active : active.toLowerCase() === 'true'

const operatorsOnly = { tags: ['operators'], security: [{ bearerAuth: [] }] }

/** Who a write is done for, as the service records it. */
const writerOf = (request: FastifyRequest): Writer => ({ operator: request.operator, requestId: request.id })

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
    return { result: 'Ok' as const, update: await fastify.availability.setActive(country, city, toBoolean(active), writerOf(request)) }
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
    const inserted = await fastify.availability.create(country, city, toBoolean(active), writerOf(request))
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
    await fastify.availability.remove(request.query.country, request.query.city, writerOf(request))
    return reply.code(204).send(null)
  })
}

export default writeRoutes
