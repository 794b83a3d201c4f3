import type { FastifyPluginAsync } from 'fastify'
import operatorAuth from '../plugins/operator-auth.ts'
import historyRoutes from './active/history.ts'
import writeRoutes from './active/writes.ts'
import whoAmIRoutes from './whoami.ts'

/**
 * The operators' routes, in one encapsulated context whose every request passes their bearer auth
 * first: a route added here cannot be left unguarded, and the auth guards nothing outside.
 */
const operatorRoutes: FastifyPluginAsync = async (fastify) => {
  await fastify.register(operatorAuth)
  // An operator's answers and refusals are about one moment's data: no cache on the way keeps them.
  fastify.addHook('onRequest', async (_request, reply) => { reply.header('cache-control', 'no-store') })
  fastify.addHook('onRequest', fastify.authenticateOperator)
  await fastify.register(writeRoutes)
  await fastify.register(historyRoutes)
  await fastify.register(whoAmIRoutes)
}

export default operatorRoutes
