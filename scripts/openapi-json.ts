import type { FastifyInstance } from 'fastify'

/** openapi.json as committed: stable formatting so a diff shows real changes only. */
export function openApiJson (app: FastifyInstance): string {
  return `${JSON.stringify(app.swagger(), null, 2)}\n`
}
