import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { TooManyFailures, Unauthorized, readErrors } from '../../schemas/errors.ts'
import { History, HistoryQuery } from '../../schemas/history.ts'

const DEFAULT_LIMIT = 50

/** Who changed a location: registered by routes/operators.ts, behind the operators' bearer auth. */
const historyRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/active/history', {
    schema: {
      tags: ['operators'],
      security: [{ bearerAuth: [] }],
      operationId: 'getHistory',
      summary: 'Who changed a city, how, and when',
      description: 'Every change, newest first, whoever made it: through the API (with the token\'s name and the request id) or directly in MySQL (`operator` and `requestId` null). A deleted city keeps its history; a city unchanged since the history began answers an empty list; one that never existed, `404`.',
      querystring: HistoryQuery,
      response: { 200: History, ...readErrors, 401: Unauthorized, 429: TooManyFailures }
    }
  }, async (request) => {
    const { country, city, limit } = request.query
    return await fastify.availability.history(country, city, limit === undefined ? DEFAULT_LIMIT : Number(limit))
  })
}

export default historyRoutes
