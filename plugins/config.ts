import fp from 'fastify-plugin'
import type { Config } from '../config/read-config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export default fp<{ config: Config }>(async function configPlugin (fastify, opts) {
  fastify.decorate('config', opts.config)
  if (opts.config.API_TOKEN_GENERATED) {
    // Shown once so a developer can call the write routes; production refuses to start without API_TOKENS.
    fastify.log.warn(`API_TOKENS is not set; this run accepts the generated bearer token ${opts.config.API_TOKENS[0]?.token}`)
  }
}, { name: 'config' })
