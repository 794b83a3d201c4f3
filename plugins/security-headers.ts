import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

/**
 * What the API's answers may do in a browser: nothing. JSON is never a page to render, frame or
 * run (Swagger UI at /docs sets its own policy, plugins/openapi.ts). Strict-Transport-Security is
 * left to whoever terminates TLS: compose's nginx serves plain HTTP on port 8000.
 */
export const API_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  frameguard: { action: 'deny' },
  strictTransportSecurity: false
}

/** The headers helmet sets with these options (its middleware sets them on any response alike). */
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
 * helmet's security headers on every answer (X-Content-Type-Options, a CSP, framing and
 * referrer policies...). Computed once at start: @fastify/helmet builds helmet's middleware
 * again for every request, which cost the cache-hit path about a third more CPU per request in
 * our measurements; setting a fixed set of headers costs one call.
 */
export default fp(async function securityHeaders (fastify) {
  const headers = helmetHeaders(API_HEADER_OPTIONS)
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'security-headers' })
