import fp from 'fastify-plugin'

/**
 * A path the service serves, asked with a method it does not serve there (PATCH /active, OPTIONS
 * /active), is answered 405 with Allow, as RFC 9110 (15.5.6) has it; any other path 404. No CORS:
 * the service's clients are servers, scripts and curl, and /docs calls its own origin, so a
 * browser's preflight (OPTIONS) from a page of another origin gets 405, and the browser keeps our
 * answers from that page.
 */
export default fp(async function methodNotAllowed (fastify) {
  const methodsOf = new Map<string, Set<string>>()
  fastify.addHook('onRoute', route => {
    // Only fixed paths: /docs/static/* and the like answer 404 to any other method.
    if (/[:*]/.test(route.url)) return
    const methods = methodsOf.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) methods.add(method)
    methodsOf.set(route.url, methods)
  })

  fastify.setNotFoundHandler(async (request, reply) => {
    const path = request.url.replace(/\?.*$/s, '')
    const allowed = methodsOf.get(path)
    if (allowed === undefined) throw fastify.httpErrors.notFound(`Route ${request.method}:${request.url} not found`)
    const allow = [...allowed].join(', ')
    reply.header('allow', allow)
    throw fastify.httpErrors.methodNotAllowed(`${request.method} is not allowed on ${path}; it takes ${allow}`)
  })
}, { name: 'method-not-allowed', dependencies: ['@fastify/sensible'] })
