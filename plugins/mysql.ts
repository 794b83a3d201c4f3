import fastifyMysql, { type MySQLPromisePool } from '@fastify/mysql'
import fp from 'fastify-plugin'
import { connectionSettings } from '../db/connection-settings.ts'

declare module 'fastify' {
  interface FastifyInstance {
    // @fastify/mysql leaves the type to us; `promise: true` below makes it this one.
    mysql: MySQLPromisePool
  }
}

export default fp(async function mysql (fastify) {
  const { config } = fastify
  await fastify.register(fastifyMysql, {
    promise: true,
    ...connectionSettings(config),
    database: config.DATABASE_NAME,
    connectionLimit: config.DATABASE_POOL_SIZE
  })
}, { name: 'mysql', dependencies: ['config', 'database-schema'] })
