import bearerAuth from '@fastify/bearer-auth'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Conflict, writeErrors } from '../../schemas/errors.ts'
import { InsertResult, LocationBody, LocationQuery, UpdateResult } from '../../schemas/location.ts'

const toBoolean = (active: boolean | string) => typeof active === 'boolean' ? active : active.toLowerCase() === 'true'

const operatorsOnly = { tags: ['operators'], security: [{ bearerAuth: [] }] }

/** The operators' routes. Bearer auth is registered in this plugin, so it guards these routes and nothing else. */
const writeRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  await fastify.register(bearerAuth, {
    keys: new Set(fastify.config.API_TOKENS),
    addHook: false,
    verifyErrorLogLevel: 'info'
  })
  const onRequest = fastify.verifyBearerAuth!

  fastify.put('/active', {
    onRequest,
    schema: {
      ...operatorsOnly,
      operationId: 'setAvailability',
      summary: 'Switch sales on or off in a city',
      body: LocationBody,
      response: { 200: UpdateResult, ...writeErrors }
    }
  }, async (request) => {
    const { country, city, active } = request.body
    return { result: 'Ok' as const, update: await fastify.availability.setActive(country, city, toBoolean(active)) }
  })

  fastify.post('/active', {
    onRequest,
    schema: {
      ...operatorsOnly,
      operationId: 'createLocation',
      summary: 'Register a new city',
      body: LocationBody,
      response: { 201: InsertResult, ...writeErrors, 409: Conflict }
    }
  }, async (request, reply) => {
    const { country, city, active } = request.body
    const inserted = await fastify.availability.create(country, city, toBoolean(active))
    return reply.code(201).send({ result: 'Ok', Insert: inserted })
  })

  fastify.delete('/active', {
    onRequest,
    schema: {
      ...operatorsOnly,
      operationId: 'deleteLocation',
      summary: 'Remove a city',
      querystring: LocationQuery,
      response: { 204: Type.Null({ description: 'Removed' }), ...writeErrors }
    }
  }, async (request, reply) => {
    await fastify.availability.remove(request.query.country, request.query.city)
    return reply.code(204).send(null)
  })
}

export default writeRoutes
