import fastifyMysql, { type MySQLPromisePool } from '@fastify/mysql'
import fp from 'fastify-plugin'
import { connectionSettings } from '../db/connection-settings.ts'
import { createStatementRunner, type StatementRunner } from '../services/database/statement-runner.ts'

declare module 'fastify' {
  interface FastifyInstance {
    // @fastify/mysql leaves the type to us; `promise: true` below makes it this one.
    mysql: MySQLPromisePool
    /** Every statement the service runs goes through this: admission, budgets, connections kept. */
    database: StatementRunner
  }
}

/**
 * The MySQL pool, opened in full at start-up: a spike then finds its
 * connections ready instead of paying a handshake (several round trips on a
 * slow network) per request, and the pool never holds more than
 * DATABASE_POOL_SIZE. A connection takes up to DATABASE_WRITE_TIMEOUT_MS to
 * open: one that a request gave up on still joins the pool for the next.
 */
export default fp(async function mysql (fastify) {
  const { config } = fastify
  await fastify.register(fastifyMysql, {
    promise: true,
    ...connectionSettings(config),
    connectTimeout: config.DATABASE_WRITE_TIMEOUT_MS,
    database: config.DATABASE_NAME,
    connectionLimit: config.DATABASE_POOL_SIZE,
    maxIdle: config.DATABASE_POOL_SIZE
  })
  // Before the pool's first connection: the runner sets up every session it opens.
  const database = createStatementRunner(fastify.mysql, {
    poolSize: config.DATABASE_POOL_SIZE,
    readTimeoutMs: config.DATABASE_TIMEOUT_MS,
    writeTimeoutMs: config.DATABASE_WRITE_TIMEOUT_MS,
    timings: fastify.metrics.timings
  })
  fastify.decorate('database', database)
  const { gate } = database
  fastify.metrics.counter('nicaventas_mysql_requests_shed_total', 'Requests refused before reaching MySQL: wait_estimate (could not be answered within the budget), deadline (the budget ran out in the queue)', 'reason', () => gate.shed)
  fastify.metrics.gauge('nicaventas_mysql_connections_in_use', 'MySQL connections running a statement (or opening for one)', () => gate.inUse)
  fastify.metrics.gauge('nicaventas_mysql_requests_waiting', 'Requests waiting for a MySQL connection', () => gate.waiting)
  fastify.metrics.total('nicaventas_mysql_queries_total', 'Statements sent to MySQL for requests (the invalidation sync\'s own left out)', () => database.statementCount)
  // Added after @fastify/mysql's own, so it runs first (onClose hooks run last-registered first).
  fastify.addHook('onClose', async () => database.close())

  const connections = await Promise.allSettled(
    Array.from({ length: config.DATABASE_POOL_SIZE }, () => fastify.mysql.getConnection())
  )
  let opened = 0
  for (const connection of connections) {
    if (connection.status === 'rejected') continue
    connection.value.release()
    opened++
  }
  if (opened < config.DATABASE_POOL_SIZE) {
    fastify.log.warn({ opened, poolSize: config.DATABASE_POOL_SIZE }, 'MySQL pool only partly opened at start; the rest opens on demand')
  }
  // database-schema creates the database the pool opens its connections on.
}, { name: 'mysql', dependencies: ['config', 'database-schema', 'metrics'] })
