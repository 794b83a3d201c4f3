import type { MySQLPromisePool } from '@fastify/mysql'
import { createPool, type RowDataPacket } from 'mysql2/promise'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { createStatementRunner } from '../services/database/statement-runner.ts'
import { isolatedEnv } from './helper.ts'

/** A runner over a pool of one connection to the real MariaDB, and the kinds of statement it timed, in order. */
function runnerOnOneConnection (t: Test, writeTimeoutMs: number) {
  const env = isolatedEnv()
  const pool = createPool({
    host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD, connectionLimit: 1
  })
  t.teardown(() => pool.end())
  const timed: string[] = []
  // The runner reaches the callback pool through @fastify/mysql's decoration, as `pool.pool.pool`.
  const runner = createStatementRunner({ pool } as unknown as MySQLPromisePool, {
    poolSize: 1, readTimeoutMs: 1000, writeTimeoutMs, timings: { statement: kind => { timed.push(kind) } }
  })
  t.teardown(() => runner.close())
  return { runner, timed }
}

const connectionId = async (runner: ReturnType<typeof runnerOnOneConnection>['runner']) =>
  (await runner.read<RowDataPacket[]>('SELECT CONNECTION_ID() AS id', []))[0]?.id as number

// A connection that has not answered within the write budget is given up: destroyed, and its caller
// answered at once. MySQL may still answer it (mysql2 ends the socket, the server's answer can still
// arrive, and mysql2 then calls the command back): that late answer must change nothing, neither the
// pool nor the statement timings /metrics serves.
t.test('a statement MySQL answers after the write budget: its caller has a 503 at the budget, the late answer is dropped with its connection', async t => {
  const { runner, timed } = runnerOnOneConnection(t, 200)
  // The connection opened first: its handshake is not part of the budget measured here.
  const first = await connectionId(runner)
  const started = Date.now()
  await t.rejects(runner.write('SELECT SLEEP(1) AS slept', []), { message: /did not answer within 200 ms/ }, 'the caller is answered at the budget')
  t.ok(Date.now() - started < 900, `not when MySQL answers: after ${Date.now() - started} ms`)
  // MySQL's answer to the given-up statement arrives in the meantime.
  await sleep(1100)
  const after = await connectionId(runner)
  t.not(after, first, 'the statement after it runs on a new connection: the one given up is not handed out again')
  t.equal(await connectionId(runner), after, 'and keeps it: one healthy connection, the pool\'s only one')
  t.equal(runner.statementCount, 4, 'each statement counted once')
  t.same(timed, ['read', 'write', 'read', 'read'], 'and timed once: the late answer is not a second statement')
})

// mysql2 calls a pool's callbacks where a thrown error would be lost or end the process: whatever
// goes wrong before a statement is sent must come back to its caller, and free the slot and the connection.
t.test('a statement that cannot be built, or a value mysql2 cannot format: the caller has the error, the slot and the connection are free', async t => {
  const { runner, timed } = runnerOnOneConnection(t, 1000)
  await t.rejects(runner.readWhenAdmitted(() => { throw new Error('no statement for these ids') }, Date.now(), () => 1),
    { message: 'no statement for these ids' }, 'a builder that throws')
  const unformattable = { toSqlString () { throw new Error('this value has no SQL form') } }
  await t.rejects(runner.read('SELECT ? AS value', [unformattable]), { message: 'this value has no SQL form' }, 'a value that cannot be formatted')
  const [row] = await runner.read<RowDataPacket[]>('SELECT 1 AS one', [])
  t.equal(row?.one, 1, 'the next statement has the slot and the pool\'s only connection')
  t.same(timed, ['read', 'read', 'read'], 'each held its slot once')
})
