import mysql, { type Connection } from 'mysql2/promise'
import t, { type Test } from 'tap'
import { createRolledBackRetry } from '../services/database/rolled-back-retry.ts'
import { isolatedEnv, cleanUp } from './helper.ts'

/** Two connections of a fresh database, each with a row to lock. */
async function twoConnections (t: Test): Promise<[Connection, Connection]> {
  const env = isolatedEnv()
  const settings = { host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD }
  const admin = await mysql.createConnection(settings)
  await admin.query(`CREATE DATABASE ${admin.escapeId(env.DATABASE_NAME!)}`)
  await admin.end()
  const connect = () => mysql.createConnection({ ...settings, database: env.DATABASE_NAME })
  const connections: [Connection, Connection] = [await connect(), await connect()]
  t.teardown(async () => {
    await Promise.all(connections.map(connection => connection.end()))
    await cleanUp(env)
  })
  await connections[0].query('CREATE TABLE rows_to_lock (id INT PRIMARY KEY, n INT NOT NULL)')
  await connections[0].query('INSERT INTO rows_to_lock VALUES (1, 0), (2, 0)')
  await connections[0].query('CREATE TABLE ballast (n INT NOT NULL)')
  return connections
}

/**
 * `victim` locks row 1 and then wants row 2, which `heavy` (made the heavier transaction, so InnoDB
 * rolls the other back) holds while it wants row 1: a real deadlock, `victim` rolled back.
 */
async function deadlockedAttempt (victim: Connection, heavy: Connection): Promise<void> {
  await heavy.beginTransaction()
  await heavy.query('INSERT INTO ballast (n) WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) SELECT n FROM s')
  await heavy.query('UPDATE rows_to_lock SET n = n + 1 WHERE id = 2')
  await victim.beginTransaction()
  await victim.query('UPDATE rows_to_lock SET n = n + 1 WHERE id = 1')
  const waiting = victim.query('UPDATE rows_to_lock SET n = n + 1 WHERE id = 2')
  await new Promise(resolve => setTimeout(resolve, 200))
  const heavyGoesOn = heavy.query('UPDATE rows_to_lock SET n = n + 1 WHERE id = 1')
  try {
    await waiting
  } finally {
    await heavyGoesOn
    await heavy.rollback()
  }
}

t.test('a write MySQL keeps rolling back is answered 503 with Retry-After once its attempts are spent, and counted', async t => {
  const [victim, heavy] = await twoConnections(t)
  const retrying = createRolledBackRetry({ attempts: 2, baseDelayMs: 5, budgetMs: 10_000 })
  let attempts = 0
  const error = await retrying(async () => {
    attempts++
    await deadlockedAttempt(victim, heavy)
  }).catch((error: unknown) => error)
  t.equal(attempts, 2, 'sent again once, then given up')
  t.match(error, {
    statusCode: 503,
    retryAfterSeconds: 1,
    message: 'MySQL rolled this write back 2 times to let concurrent changes of the same data through; it was not applied, try again',
    cause: { errno: 1213 }
  })
  t.same(retrying.stats, { retried: 1, gaveUp: 1 })
})

t.test('a deadlock victim retried goes through; other errors are not retried', async t => {
  const [victim, heavy] = await twoConnections(t)
  const retrying = createRolledBackRetry({ attempts: 3, baseDelayMs: 5, budgetMs: 10_000 })
  let attempts = 0
  await retrying(async () => {
    if (++attempts === 1) await deadlockedAttempt(victim, heavy)
    else await victim.query('UPDATE rows_to_lock SET n = n + 1 WHERE id = 1')
  })
  t.equal(attempts, 2)
  const [[row]] = await victim.query<Array<mysql.RowDataPacket>>('SELECT n FROM rows_to_lock WHERE id = 1')
  t.equal(row!.n, 1, 'the rolled back attempt left nothing; the retry applied once')

  const duplicate = await retrying(() => victim.query('INSERT INTO rows_to_lock VALUES (1, 0)')).catch((error: unknown) => error)
  t.match(duplicate, { errno: 1062 }, 'a duplicate key is the answer, not a collision')
  t.same(retrying.stats, { retried: 1, gaveUp: 0 })
})
