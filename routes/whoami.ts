import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { InternalError, TooManyFailures, Unauthorized } from '../schemas/errors.ts'
import { WhoAmI } from '../schemas/whoami.ts'

/** Who a token belongs to: registered by routes/operators.ts, behind the operators' bearer auth. */
const whoAmIRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/auth/whoami', {
    schema: {
      tags: ['operators'],
      security: [{ bearerAuth: [] }],
      operationId: 'whoAmI',
      summary: 'The operator a token belongs to, and what it may change',
      description: 'For a client (the console at `/console`) to show an operator only what their token allows.',
      response: { 200: WhoAmI, 401: Unauthorized, 429: TooManyFailures, 500: InternalError }
    }
  }, async (request) => {
    const { countries, readOnly } = request.operatorScope
    return { operator: request.operator, countries: countries ?? null, may_write: !readOnly }
  })
}

export default whoAmIRoutes
