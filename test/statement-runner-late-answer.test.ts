import type { MySQLPromisePool } from '@fastify/mysql'
import { createPool, type RowDataPacket } from 'mysql2/promise'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createStatementRunner } from '../services/database/statement-runner.ts'
import { isolatedEnv } from './helper.ts'

// A connection that has not answered within the write budget is given up: destroyed, and its caller
// answered at once. MySQL may still answer it (mysql2 ends the socket, the server's answer can still
// arrive, and mysql2 then calls the command back): that late answer must change nothing, neither the
// pool nor the statement timings /metrics serves.
t.test('a statement MySQL answers after the write budget: its caller has a 503 at the budget, the late answer is dropped with its connection', async t => {
  const env = isolatedEnv()
  const pool = createPool({
    host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD, connectionLimit: 1
  })
  t.teardown(() => pool.end())
  // The runner reaches the callback pool through @fastify/mysql's decoration, as `pool.pool.pool`.
  const timed: string[] = []
  const runner = createStatementRunner({ pool } as unknown as MySQLPromisePool, {
    poolSize: 1, readTimeoutMs: 1000, writeTimeoutMs: 200, timings: { statement: kind => { timed.push(kind) } }
  })
  t.teardown(() => runner.close())

  const started = Date.now()
  await t.rejects(runner.write('SELECT SLEEP(0.5) AS slept', []), { message: /did not answer within 200 ms/ }, 'the caller is answered at the budget')
  t.ok(Date.now() - started < 450, `not when MySQL answers: after ${Date.now() - started} ms`)
  // MySQL's answer to the given-up statement arrives in the meantime.
  await sleep(600)
  const first = await runner.read<RowDataPacket[]>('SELECT CONNECTION_ID() AS id', [])
  const second = await runner.read<RowDataPacket[]>('SELECT CONNECTION_ID() AS id', [])
  t.equal(first[0]?.id, second[0]?.id, 'the statements after it run on one healthy connection, the pool\'s only one')
  t.equal(runner.statementCount, 3, 'each statement counted once')
  t.same(timed, ['write', 'read', 'read'], 'and timed once: the late answer is not a second statement')
})
