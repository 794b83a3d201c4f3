import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import packageJson from '../package.json' with { type: 'json' }

/**
 * What Swagger UI needs and no more: its own scripts, styles and images (icons are data: URLs), and
 * calls to this origin for "Try it out". Its bundle adds a <style> element of its own, so inline
 * styles are allowed (as in helmet's default policy); scripts only from this origin. No page may
 * frame it (clickjacking an operator who pasted a token). No upgrade-insecure-requests: compose
 * serves it over plain HTTP.
 */
export const DOCS_CSP = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; img-src 'self' data:; " +
  "object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'"

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
        { name: 'ofrep', description: 'OpenFeature Remote Evaluation Protocol: the flag `sales-active` for a location, for OpenFeature SDKs' },
        { name: 'console', description: 'What the operators\' console (/console) reads besides the API' },
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
  await fastify.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP })
}, { name: 'openapi', dependencies: ['config'] })
