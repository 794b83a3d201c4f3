import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

/**
 * What the API's answers may do in a browser: nothing. JSON is never a page to render, frame or
 * run (Swagger UI at /docs sets its own policy, plugins/openapi.ts). Only the headers that say so
 * to today's browsers: helmet's others speak to documents (Cross-Origin-Opener-Policy,
 * Origin-Agent-Cluster) or to old browsers and plug-ins (X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection), and each costs every
 * cache hit its bytes. Strict-Transport-Security is left to whoever terminates TLS: compose's
 * nginx serves plain HTTP on port 8000.
 */
const API_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  frameguard: { action: 'deny' },
  strictTransportSecurity: false,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false
}

/**
 * The headers helmet sets with these options, recorded once from its middleware run against a
 * response that only records them (it sets the same headers on every response, whatever the request).
 */
export function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string) { headers[name.toLowerCase()] = value },
    removeHeader () {}
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {})
  return headers
}

/**
 * helmet's security headers on every answer, computed once at start. @fastify/helmet builds
 * helmet's middleware again for every request: the cache-hit path took 1.4-1.6 times the CPU per
 * request with it (wrk, five alternating rounds); a fixed set of headers costs one call, and
 * measured no different from none.
 */
export default fp(async function securityHeaders (fastify) {
  const headers = helmetHeaders(API_HEADER_OPTIONS)
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'security-headers' })
