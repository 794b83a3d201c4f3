import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import packageJson from '../package.json' with { type: 'json' }

/**
 * The OpenAPI document, generated from the routes' TypeBox schemas (so it
 * cannot drift from what is validated and serialised), served at /docs.
 */
export default fp(async function openApi (fastify) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'NicaVentas — Disponibilidad de Ventas',
        description: 'Are sales active in a city? Answers come from a Redis cache in front of MySQL; `redis_cache` says which. Operators switch cities on and off with a bearer token.',
        version: packageJson.version,
        license: { name: 'MIT', identifier: 'MIT' }
      },
      // Relative, so "Try it out" calls whichever host serves the docs: localhost, compose, or the proxy.
      servers: [{ url: '/', description: 'The host serving these docs' }],
      tags: [
        { name: 'availability', description: 'What clients ask' },
        { name: 'operators', description: 'Writes; bearer token required' },
        { name: 'service', description: 'Identity, liveness, readiness and metrics' }
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'One of the tokens in API_TOKENS' }
        }
      }
    },
    // Shared schemas (added with addSchema, so they all have an $id) keep their names in components.
    refResolver: {
      buildLocalReference: (json) => String(json.$id)
    }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'openapi', dependencies: ['config'] })
