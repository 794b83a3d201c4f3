// The operator a request was authenticated as: set by the operators' auth (plugins/operator-auth.ts),
// read by the request's log line (request-log-controller.ts). Declared here, below both, so the
// logging reads a property of its own layer, not one a plugin declares.
declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the operator whose token authenticated this request; set on the operators' routes only. */
    operator: string
  }
}

export {}
