import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { failureOf, noteFailure } from './request-failures.ts'
import type {} from './request-operator.ts'

// Far above a healthy answer (under a millisecond from the cache, a few from MySQL).
const SLOW_MS = 100

/**
 * One log line per request, whatever its outcome, instead of Fastify's two and the lines an
 * error adds (a 4xx's with its stack, 2 KB for a 400). At info only when it tells an operator
 * something (an operator's request, a 4xx/5xx or a slow answer), otherwise at debug. A failure
 * noted for the request (logging/request-failures.ts) sets the line's level and adds its details:
 * the reason of a 4xx, the error and its stack of a 5xx. In the benchmark, two info lines per
 * request cost a fifth of the cache-hit path's CPU; request counts and latencies are in
 * /metrics. Operators' requests are few, and each says who did what.
 */
export class RequestLogController extends LogController {
  override incomingRequest (): void {}

  /** Fastify's own error path (a 4xx passed on by plugins/error-handler.ts, a shed 503): no line here, the reason goes on the request's line. */
  override defaultErrorLog (error: Error, request: FastifyRequest, reply: FastifyReply): void {
    noteFailure(request, reply.statusCode >= 500 ? { level: 'error', details: { err: error } } : { level: 'info', details: { reason: error.message } })
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // The operator's name on the write routes (their token is never logged); left out elsewhere.
    const details = { req: request, res: reply, responseTime: reply.elapsedTime, operator: request.operator || undefined }
    const failure = failureOf(request)
    if (error) reply.log.error({ ...details, err: error }, 'request errored')
    else if (failure !== undefined) reply.log[failure.level]({ ...details, ...failure.details }, 'request completed')
    else if (request.operator || reply.statusCode >= 400 || reply.elapsedTime > SLOW_MS) reply.log.info(details, 'request completed')
    else reply.log.debug(details, 'request completed')
  }
}
