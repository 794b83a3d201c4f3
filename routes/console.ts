import { join } from 'node:path'
import helmet from '@fastify/helmet'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { assignedCountries } from '../domain/countries.ts'
import { ConsoleCountries } from '../schemas/console.ts'
import { InternalError } from '../schemas/errors.ts'

const FILES = join(import.meta.dirname, '..', 'console')

/**
 * The operators' console: static files (console/) and the list of countries it offers. Its own
 * context, so the page's headers (a policy that lets the page run its own script and style, and
 * talk to this origin only) apply here and nowhere else: the API keeps the fixed headers of
 * plugins/security-headers.ts, and its hot path gains no hook.
 */
const consoleRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  await fastify.register(helmet, {
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
  // helmet sets its headers on the raw response, and the reply's own (the API's, plugins/security-headers.ts)
  // are written over them: copied onto the reply, the page's headers are the ones sent.
  fastify.addHook('onRequest', (_request, reply, done) => {
    for (const name of reply.raw.getHeaderNames()) reply.header(name, reply.raw.getHeader(name))
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
