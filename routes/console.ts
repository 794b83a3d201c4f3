import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { assignedCountries } from '../domain/countries.ts'
import { ConsoleCountries } from '../schemas/console.ts'
import { InternalError } from '../schemas/errors.ts'
import { helmetHeaders } from '../plugins/security-headers.ts'

const FILES = join(import.meta.dirname, '..', 'console')

/**
 * What the page may do: run its own script and style, and talk to this origin only. Set on the
 * reply, so they replace the API's fixed headers (plugins/security-headers.ts) for these routes.
 */
const CONSOLE_HEADERS = helmetHeaders({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'"],
      connectSrc: ["'self'"]
    }
  },
  frameguard: { action: 'deny' },
  // TLS, if any, ends before the service (compose's nginx serves plain HTTP).
  strictTransportSecurity: false,
  referrerPolicy: { policy: 'no-referrer' }
})

/**
 * The operators' console: static files (console/) and the list of countries it offers. Its own
 * context, so the page's headers (a policy that lets the page run its own script and style, and
 * talk to this origin only) apply here and nowhere else: the API keeps the fixed headers of
 * plugins/security-headers.ts, and its hot path gains no hook.
 */
const consoleRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // The page's own policy, worked out once: @fastify/helmet would rebuild helmet's middleware for every request.
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(CONSOLE_HEADERS)
    done()
  })

  await fastify.register(fastifyStatic, { root: FILES, prefix: '/console', redirect: true, index: 'index.html' })

  fastify.get('/console/countries', {
    schema: {
      tags: ['console'],
      operationId: 'consoleCountries',
      security: [],
      summary: 'The countries the console offers',
      response: { 200: ConsoleCountries, 500: InternalError }
    }
  }, async () => ({ countries: assignedCountries() }))
}

export default consoleRoutes
