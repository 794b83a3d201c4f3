import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { noteFailure } from '../logging/request-failures.ts'
import { DatabaseUnavailableError } from '../services/database/errors.ts'
import { StreamRefusedError } from '../services/changes/change-fan-out.ts'

/**
 * Client errors (4xx) keep Fastify's standard body and message. Server
 * errors are logged with the request id and answered without internals:
 * no stack, SQL or driver text reaches a client. A 503 keeps its message,
 * which is ours (DatabaseUnavailableError), with a Retry-After header.
 * No error answer is worth keeping: each says `Cache-Control: no-store`.
 * What went wrong goes on the request's one log line (logging/).
 */
export default fp(async function errorHandler (fastify) {
  fastify.setErrorHandler<FastifyError>(function (error, request, reply) {
    reply.header('cache-control', 'no-store')
    if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="nicaventas"')
    if (error.statusCode !== undefined && error.statusCode < 500) return reply.send(error)
    // Overload shedding (plugins/under-pressure.ts): expected, its Retry-After set, its message ours.
    if (error.code === 'FST_UNDER_PRESSURE') return reply.send(error)

    if (error instanceof DatabaseUnavailableError || error instanceof StreamRefusedError) {
      // Expected while MySQL is down or busy, or an instance streams to all it may: a warning, no stack.
      noteFailure(request, { level: 'warn', details: { reason: error.message, cause: (error.cause as { code?: string } | undefined)?.code } })
      return reply.code(503).header('retry-after', String(error.retryAfterSeconds))
        .send({ statusCode: 503, error: 'Service Unavailable', message: error.message })
    }
    noteFailure(request, { level: 'error', details: { err: error } })
    return reply.code(500).send({
      statusCode: 500,
      error: 'Internal Server Error',
      message: `Unexpected error; quote request id ${request.id} when reporting it`
    })
  })
}, { name: 'error-handler' })
