import type { FastifyInstance } from 'fastify'
import mysql, { type Connection } from 'mysql2/promise'
import type { Test } from 'tap'

/**
 * A connection of the test's own to an app's database, as an administrator's
 * client would open one: for the direct SQL edits the service must notice.
 * Closed when the test ends.
 */
export async function directSql (t: Test, app: FastifyInstance): Promise<Connection> {
  const { config } = app
  const connection = await mysql.createConnection({
    host: config.DATABASE_HOST,
    port: config.DATABASE_PORT,
    user: config.DATABASE_USER,
    password: config.DATABASE_PASSWORD,
    database: config.DATABASE_NAME
  })
  t.teardown(() => connection.end())
  return connection
}
