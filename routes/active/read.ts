import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { readErrors } from '../../schemas/errors.ts'
import { Availability, LocationQuery } from '../../schemas/location.ts'

const readRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/active', {
    schema: {
      tags: ['availability'],
      operationId: 'getAvailability',
      security: [],
      summary: 'Are sales active in this city?',
      description: 'Answers from Redis when it can (`redis_cache: "hit"`), otherwise from MySQL. Country and city are matched whatever their case, accents or surrounding spaces.',
      querystring: LocationQuery,
      response: { 200: Availability, ...readErrors }
    }
  }, async (request) => {
    return await fastify.availability.lookup(request.query.country, request.query.city)
  })
}

export default readRoutes
