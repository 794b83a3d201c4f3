import { join } from 'node:path'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import t from 'tap'
import { locationKeys } from '../services/availability/location-keys.ts'
import { locationId } from '../domain/location.ts'
import { AUTH, cleanUp, isolatedEnv } from './helper.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'
import { until } from './support/until.ts'

const ROOT = join(import.meta.dirname, '..')

t.test('a write in flight when SIGTERM arrives is committed, invalidated and answered', async t => {
  const port = await freePort()
  // The write waits on a row lock; its query timeout must outlast that wait.
  const env = isolatedEnv({ PORT: String(port), HOST: '127.0.0.1', DATABASE_TIMEOUT_MS: '10000', LOG_LEVEL: 'info' })
  t.teardown(() => cleanUp(env))
  const server = spawnServer([process.execPath, 'server.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } })
  t.teardown(() => server.stop())
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(server, `${base}/ready`)

  const redis = new Redis({ host: env.REDIS_LOCATION, port: Number(env.REDIS_PORT) })
  t.teardown(() => redis.quit())
  const entry = locationKeys(env.CACHE_NAMESPACE ?? '', locationId('NI', 'Managua')).value
  await fetch(`${base}/active?country=NI&city=Managua`).then(response => response.arrayBuffer())
  t.equal(await redis.exists(entry), 1, 'Managua is cached')

  const db = await mysql.createConnection({
    host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD, database: env.DATABASE_NAME
  })
  t.teardown(() => db.end())
  await db.beginTransaction()
  await db.query("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'managua' FOR UPDATE")

  const write = fetch(`${base}/active`, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ country: 'NI', city: 'Managua', active: false })
  })
  await until(async () => {
    const [rows] = await db.query<mysql.RowDataPacket[]>(
      "SELECT 1 FROM information_schema.processlist WHERE db = ? AND info LIKE 'UPDATE locations%'", [env.DATABASE_NAME])
    return rows.length > 0
  }, 'the service\'s UPDATE waits for the row lock')

  server.child.kill('SIGTERM')
  await until(() => fetch(`${base}/health`).then(() => false, () => true), 'the server stops accepting connections')
  t.equal(server.child.exitCode, null, 'still running: it waits for the write')
  await db.commit()

  const response = await write
  t.equal(response.status, 200, 'the client gets its answer')
  t.same(await response.json(), { result: 'Ok', update: { country: 'NI', city: 'Managua', active: false } })
  const exit = await server.exited
  t.same(exit, { code: 0, signal: null }, 'a clean exit')

  const [rows] = await db.query<mysql.RowDataPacket[]>("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'managua'")
  t.same(rows, [{ active: 0 }], 'the write is committed')
  t.equal(await redis.exists(entry), 0, 'and the cached answer is gone')
  if (exit.code !== 0) t.comment(server.output().slice(-6000))
})
