import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** Prometheus metrics: this app's registry only (see plugins/metrics.ts). */
const metricsRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/metrics', {
    logLevel: 'warn',
    schema: {
      tags: ['service'],
      operationId: 'getMetrics',
      security: [],
      summary: 'Prometheus metrics',
      produces: ['text/plain'],
      response: { 200: { type: 'string', description: 'Prometheus text exposition format' } }
    }
  }, async (_request, reply) => {
    return reply.type(fastify.metricsRegistry.contentType).send(await fastify.metricsRegistry.metrics())
  })
}

export default metricsRoute
