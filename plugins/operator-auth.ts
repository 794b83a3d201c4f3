import bearerAuth from '@fastify/bearer-auth'
import rateLimit from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createOperatorLookup } from '../config/operator-tokens.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The operators' routes' onRequest hook: a client that keeps failing is answered 429, a bad token 401. */
    authenticateOperator: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
  interface FastifyRequest {
    /** The name of the operator whose token authenticated this request; set on the write routes only. */
    operator: string
  }
}

/**
 * Bearer auth for the operators' routes, registered inside their plugin so it guards them and
 * nothing else. Only failed attempts are counted, per client address (request.ip: see
 * TRUST_PROXY_HOPS), so one client guessing locks out that client alone and never an operator
 * elsewhere. Once a client has failed AUTH_FAILURE_LIMIT times within AUTH_FAILURE_WINDOW_SECONDS,
 * its requests are answered 429 with Retry-After before any token is looked at (a right guess
 * would otherwise still tell), and each of them starts the wait again. The counts live in this
 * process: N instances behind one proxy allow a client N times the attempts.
 */
export default fp(async function operatorAuth (fastify) {
  const { API_TOKENS, AUTH_FAILURE_LIMIT, AUTH_FAILURE_WINDOW_SECONDS } = fastify.config
  fastify.decorateRequest('operator', '')
  const operatorOf = createOperatorLookup(API_TOKENS)
  await fastify.register(bearerAuth, {
    // Unused: `auth` replaces the key check, to learn whose token it is.
    keys: [],
    auth (bearer, request) {
      const operator = operatorOf(bearer)
      if (operator === undefined) return false
      request.operator = operator
      return true
    },
    // The scheme's name in any case, as RFC 9110 (11.1) has it: `bearer x` is `Bearer x`.
    specCompliance: 'rfc6749',
    addHook: false,
    // Below info: the request's one line (logging/request-log-controller.ts) already says why it was refused.
    verifyErrorLogLevel: 'trace'
  })
  const verifyBearer = fastify.verifyBearerAuth!
  const failureOf = (request: FastifyRequest, reply: FastifyReply) =>
    new Promise<Error | undefined>(resolve => { verifyBearer(request, reply, error => resolve(error)) })

  await fastify.register(rateLimit, { global: false, continueExceeding: true })
  const limiter = fastify.createRateLimit({ max: AUTH_FAILURE_LIMIT, timeWindow: AUTH_FAILURE_WINDOW_SECONDS * 1000 })
  // Without an allowList every answer carries the counts.
  const failures = async (request: FastifyRequest, increment: boolean) => await limiter(request, { increment }) as { remaining: number, ttlInSeconds: number }

  fastify.decorate('authenticateOperator', async function authenticateOperator (request: FastifyRequest, reply: FastifyReply) {
    if ((await failures(request, false)).remaining === 0) {
      const { ttlInSeconds } = await failures(request, true)
      reply.header('retry-after', String(ttlInSeconds))
      throw fastify.httpErrors.tooManyRequests(`Too many failed bearer tokens from this address; try again in ${ttlInSeconds} s`)
    }
    const failure = await failureOf(request, reply)
    if (failure !== undefined) {
      await failures(request, true)
      throw failure
    }
  })
}, { name: 'operator-auth', dependencies: ['config', '@fastify/sensible'] })
