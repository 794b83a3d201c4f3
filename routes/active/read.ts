import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Cities, CITIES_PAGE_DEFAULT, CitiesQuery, type CitiesAnswer } from '../../schemas/cities.ts'
import { NotModified, readErrors, TaggedHeaders } from '../../schemas/errors.ts'
import { Availability, LocationQuery, type AvailabilityAnswer } from '../../schemas/location.ts'
import type { TaggedAnswer } from '../../services/availability/service.ts'
import { sendTagged } from './conditional.ts'

const JSON_UTF8 = 'application/json; charset=utf-8'

/** GET /active's answer, or 304: encoded by the service once per cached value (services/availability/service.ts), sent as it is, without the schema's serializer. */
export function sendAnswer (request: FastifyRequest, reply: FastifyReply, answer: TaggedAnswer<string>): void {
  const body = sendTagged(request, reply, answer)
  if (typeof body === 'string') reply.type(JSON_UTF8).send(body as unknown as AvailabilityAnswer)
}

/** GET /active's schema: its query, its answers and its OpenAPI description. */
export const AVAILABILITY_ROUTE_SCHEMA = {
  tags: ['availability'],
  operationId: 'getAvailability',
  security: [],
  summary: 'Are sales active in this city?',
  description: 'Answers from Redis when it can (`redis_cache: "hit"`), otherwise from MySQL. Country and city are matched whatever their case, accents or surrounding spaces. The `ETag` depends on the data alone (country, city, flag), so `If-None-Match` gets `304` until a write changes the answer.',
  querystring: LocationQuery,
  response: { 200: { ...Availability, headers: TaggedHeaders }, 304: NotModified, ...readErrors }
}

const readRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/active', { schema: AVAILABILITY_ROUTE_SCHEMA }, (request, reply) => {
    // Not an async handler: when the local tier answers at once, the answer goes out without a promise.
    const answer = fastify.availability.lookup(request.query.country, request.query.city)
    if (answer instanceof Promise) return answer.then(found => { sendAnswer(request, reply, found) })
    sendAnswer(request, reply, answer)
  })

  fastify.get('/active/cities', {
    schema: {
      tags: ['availability'],
      operationId: 'listCities',
      security: [],
      summary: 'A country\'s cities, and whether sales are active in each',
      description: 'Cached per country like a single location (`redis_cache`); every write to any of its cities invalidates the list before it is acknowledged. A valid country without cities answers an empty list. Paged: at most `limit` cities, and `next_cursor` to pass as `cursor` for the next page (null on the last); a cursor names the city a page ended with, so no city is given twice even when cities come and go between pages. Conditional like `GET /active`, per page.',
      querystring: CitiesQuery,
      response: { 200: { ...Cities, headers: TaggedHeaders }, 304: NotModified, 400: readErrors[400], 500: readErrors[500], 503: readErrors[503] }
    }
  }, async (request, reply) => {
    const { country, active, limit, cursor } = request.query
    const answer = await fastify.availability.listCities(country, {
      active: active === undefined ? undefined : active.toLowerCase() === 'true',
      limit: limit === undefined ? CITIES_PAGE_DEFAULT : Number(limit),
      cursor
    })
    const body = sendTagged(request, reply, answer)
    if (!Buffer.isBuffer(body)) return body
    // Encoded once per page (services/availability/city-pages.ts): sent as it is, without the schema's serializer.
    return reply.type(JSON_UTF8).send(body as unknown as CitiesAnswer)
  })
}

export default readRoutes
