import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import mysql from 'mysql2/promise'
import t from 'tap'
import { demoLocations } from '../db/demo-data.ts'
import { cleanUp, isolatedEnv } from './helper.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { tally, timedClient } from './support/timed-client.ts'

const ROOT = join(import.meta.dirname, '..')
// Inactive in the demo data, one per country: each PUT below switches one on, so every acknowledgement can be checked.
const CAPITALS = demoLocations().filter(location => location.country !== 'NI')

t.test('SIGTERM 150 ms into a burst while MySQL is 300 ms slower: every request answers 200, every acknowledged write survives a restart', async t => {
  const proxy = await startTcpProxy(Number(process.env.DATABASE_PORT ?? 3306))
  t.teardown(() => proxy.close())
  const port = await freePort()
  const env = isolatedEnv({ PORT: String(port), HOST: '127.0.0.1', DATABASE_PORT: String(proxy.port), LOG_LEVEL: 'info' })
  t.teardown(() => cleanUp({ ...env, DATABASE_PORT: process.env.DATABASE_PORT ?? '3306' }))
  const start = () => spawnServer([process.execPath, 'server.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } })
  const base = `http://127.0.0.1:${port}`
  const first = start()
  t.teardown(() => first.stop())
  await waitForStatus(first, `${base}/ready`)

  proxy.delay(300)
  const client = timedClient(base)
  const written = CAPITALS.slice(0, 25)
  const burst = Promise.all([
    ...written.map(({ country, city }) => client.put(country, city, true)),
    ...CAPITALS.slice(25, 50).map(({ country, city }) => client.get(country, city))
  ])
  await sleep(150)
  const signalled = performance.now()
  first.child.kill('SIGTERM')
  const answers = await burst
  const exit = await first.exited
  const exitMs = performance.now() - signalled
  t.comment(`SIGTERM 150 ms into 50 requests at +300 ms per MySQL round trip: statuses ${tally(answers)}, worst ${Math.max(...answers.map(answer => answer.ms)).toFixed(0)} ms, exit ${exitMs.toFixed(0)} ms after the signal`)
  t.same(new Set(answers.map(answer => answer.status)), new Set([200]), 'every request answered 200')
  t.same(exit, { code: 0, signal: null }, 'a clean exit')
  t.ok(exitMs < 10_000, 'within 10 s')
  if (exit.code !== 0) t.comment(first.output().slice(-4000))

  proxy.delay(0)
  const db = await mysql.createConnection({
    host: env.DATABASE_HOST, port: Number(process.env.DATABASE_PORT ?? 3306), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD, database: env.DATABASE_NAME
  })
  t.teardown(() => db.end())
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT COUNT(*) AS active FROM locations WHERE active = 1 AND country IN (?)', [written.map(location => location.country)])
  t.equal(rows[0]?.active, 25, 'every acknowledged PUT is in MySQL')

  const second = start()
  t.teardown(() => second.stop())
  await waitForStatus(second, `${base}/ready`)
  const after = await Promise.all(written.map(({ country, city }) => client.get(country, city)))
  t.ok(after.every(answer => answer.status === 200 && answer.body?.active === true), 'and served as written after a restart')
})
