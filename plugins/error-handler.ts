import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { DatabaseUnavailableError } from '../services/availability-store.ts'

/**
 * Client errors (4xx) keep Fastify's standard body and message. Server
 * errors are logged with the request id and answered without internals:
 * no stack, SQL or driver text reaches a client. A 503 keeps its message,
 * which is ours (DatabaseUnavailableError) (see DatabaseUnavailableError).
 */
export default fp(async function errorHandler (fastify) {
  fastify.setErrorHandler<FastifyError>(function (error, request, reply) {
    if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="nicaventas"')
    if (error.statusCode !== undefined && error.statusCode < 500) return reply.send(error)

    request.log.error({ err: error }, 'request failed')
    if (error instanceof DatabaseUnavailableError) {
      return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: error.message })
    }
    return reply.code(500).send({
      statusCode: 500,
      error: 'Internal Server Error',
      message: `Unexpected error; quote request id ${request.id} when reporting it`
    })
  })
}, { name: 'error-handler' })
