import bearerAuth from '@fastify/bearer-auth'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createOperatorLookup, type OperatorScope } from '../config/operator-tokens.ts'
import { clientKeyOf } from '../services/auth/client-key.ts'
import { createFailedAttempts } from '../services/auth/failed-attempts.ts'
import type {} from '../logging/request-operator.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The operators' routes' onRequest hook: a client that keeps failing is answered 429, a bad token 401. */
    authenticateOperator: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
  interface FastifyRequest {
    /** What that token may change (API_TOKENS' `name[NI+CR]:token`, `name[read]:token`); set with `operator`. */
    operatorScope: OperatorScope
  }
}

// Clients whose failures are remembered, the least recently seen forgotten first: about 250 bytes each, so an
// attacker rotating addresses holds this process's share at under 5 MB (measured with 200,000 IPv6 /64s).
const MAX_CLIENTS = 20_000

/**
 * Bearer auth for the operators' routes, registered inside their plugin so it guards them and
 * nothing else. Only failed attempts are counted, per client (request.ip, see TRUST_PROXY_HOPS;
 * an IPv6 address by its /64), so one client guessing locks out that client alone and never an
 * operator elsewhere. Once a client has failed AUTH_FAILURE_LIMIT times within
 * AUTH_FAILURE_WINDOW_SECONDS, its requests are answered 429 with Retry-After before any token is
 * looked at (a right guess would otherwise still tell), and each of them starts the wait again.
 *
 * The check, the token's verification and the count happen in one synchronous step: requests
 * pipelined on one connection all start before any finishes, and an await in between would let
 * each of them see the count from before the others. @fastify/bearer-auth reads the header and
 * calls our `auth` with the token at once, and refuses a missing or malformed header at once;
 * only its verdict on a token comes later, through a promise, so failures are counted where they
 * are seen, never in the verdict (test/guessing-pipelined.test.ts holds it to that). The counts
 * live in this process: N instances behind one proxy allow a client N times the attempts.
 */
export default fp(async function operatorAuth (fastify) {
  const { API_TOKENS, AUTH_FAILURE_LIMIT, AUTH_FAILURE_WINDOW_SECONDS } = fastify.config
  fastify.decorateRequest('operator', '')
  // Never read before the auth sets it: the value only gives every request the same shape.
  fastify.decorateRequest('operatorScope', null as unknown as OperatorScope)
  const operatorOf = createOperatorLookup(API_TOKENS)
  const failedAttempts = createFailedAttempts({ limit: AUTH_FAILURE_LIMIT, windowMs: AUTH_FAILURE_WINDOW_SECONDS * 1000, maxClients: MAX_CLIENTS })
  // Requests whose token reached `auth`: a refusal of theirs was counted there.
  const tokenChecked = new WeakSet<FastifyRequest>()

  await fastify.register(bearerAuth, {
    // Unused: `auth` replaces the key check, to learn whose token it is.
    keys: [],
    auth (bearer, request) {
      tokenChecked.add(request)
      const operator = operatorOf(bearer)
      if (operator === undefined) {
        failedAttempts.recordFailure(clientKeyOf(request.ip))
        return false
      }
      request.operator = operator.name
      request.operatorScope = operator.scope
      return true
    },
    // The scheme's name in any case, as RFC 9110 (11.1) has it: `bearer x` is `Bearer x`.
    specCompliance: 'rfc6749',
    addHook: false,
    // Below info: the request's one line (logging/request-log-controller.ts) already says why it was refused.
    verifyErrorLogLevel: 'trace'
  })
  const verifyBearer = fastify.verifyBearerAuth!

  fastify.decorate('authenticateOperator', function authenticateOperator (request: FastifyRequest, reply: FastifyReply) {
    const client = clientKeyOf(request.ip)
    const waitSeconds = failedAttempts.lockedOutFor(client)
    if (waitSeconds !== undefined) {
      reply.header('retry-after', String(waitSeconds))
      return Promise.reject(fastify.httpErrors.tooManyRequests(`Too many failed bearer tokens from this address; try again in ${waitSeconds} s`))
    }
    return new Promise<void>((resolve, reject) => {
      verifyBearer(request, reply, error => {
        if (error === undefined) return resolve()
        // A missing or malformed header, refused before any token: still within this step.
        if (!tokenChecked.has(request)) failedAttempts.recordFailure(client)
        reject(error)
      })
    })
  })
}, { name: 'operator-auth', dependencies: ['config', '@fastify/sensible'] })
