import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Health, Readiness } from '../schemas/health.ts'

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/health', {
    schema: {
      tags: ['service'],
      operationId: 'getHealth',
      security: [],
      summary: 'Liveness: the process can serve requests',
      response: { 200: Health }
    }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    schema: {
      tags: ['service'],
      operationId: 'getReadiness',
      security: [],
      summary: 'Readiness: MySQL answers (Redis is optional)',
      response: { 200: Readiness, 503: Readiness }
    }
  }, async (_request, reply) => {
    const [mysql, redis] = await Promise.all([
      fastify.availabilityStore.ping().then(() => 'ok' as const, () => 'unreachable' as const),
      fastify.redis.ping().then(() => 'ok' as const, () => 'degraded' as const)
    ])
    const ready = mysql === 'ok'
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', mysql, redis })
  })
}

export default healthRoutes
