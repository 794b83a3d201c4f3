import mysql from 'mysql2/promise'
import t, { type Test } from 'tap'
import { AUTH, build } from './helper.ts'

/** A connection of the test's own, holding Managua's row lock until it rolls back. */
async function holdManaguaLock (t: Test, database: string) {
  const db = await mysql.createConnection({
    host: process.env.DATABASE_HOST ?? '127.0.0.1', port: Number(process.env.DATABASE_PORT ?? 3306), user: process.env.DATABASE_USER ?? 'root', password: process.env.DATABASE_PASSWORD ?? '', database
  })
  t.teardown(() => db.end())
  await db.beginTransaction()
  await db.query("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'managua' FOR UPDATE")
  return db
}

const putManagua = (active: boolean) => ({ method: 'PUT' as const, url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active } })

t.test('a write stuck behind a row lock gets MySQL\'s own refusal before its budget runs out, and says it was not applied', async t => {
  const app = await build(t, { DATABASE_WRITE_TIMEOUT_MS: '3000' })
  const db = await holdManaguaLock(t, app.config.DATABASE_NAME)
  const started = performance.now()
  const response = await app.inject(putManagua(false))
  const ms = performance.now() - started
  t.comment(`a PUT behind a held row lock answered after ${ms.toFixed(0)} ms`)
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '2')
  t.same(response.json(), {
    statusCode: 503,
    error: 'Service Unavailable',
    message: 'MySQL could not lock the location in time (another change holds it); this request was not applied, try again'
  })
  t.ok(ms >= 1900 && ms < 3000, 'after the session\'s lock wait (the write budget less a second), before the budget itself')
  await db.rollback()
  t.same((await app.inject({ url: '/active?country=NI&city=Managua' })).json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' }, 'and indeed nothing changed')
  t.equal((await app.inject(putManagua(false))).statusCode, 200, 'the same write goes through once the lock is gone')
})

t.test('closing the app refuses what still waits for a connection with 503, not a closed pool\'s 500', async t => {
  const app = await build(t, { DATABASE_POOL_SIZE: '1', DATABASE_WRITE_TIMEOUT_MS: '3000' })
  const db = await holdManaguaLock(t, app.config.DATABASE_NAME)
  // The only connection waits on the lock; a read of another city queues behind it.
  const write = app.inject(putManagua(false))
  await new Promise(resolve => setTimeout(resolve, 100))
  const read = app.inject({ url: '/active?country=NI&city=Granada' })
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(app.database.gate.waiting, 1, 'the read waits for the connection')
  const closed = app.close()
  const answer = await read
  t.equal(answer.statusCode, 503)
  t.same(answer.json(), { statusCode: 503, error: 'Service Unavailable', message: 'The service is shutting down; try another instance' })
  await db.rollback()
  t.equal((await write).statusCode, 200, 'the write that had its connection still finishes')
  await closed
})
