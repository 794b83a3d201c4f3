import { join } from 'node:path'
import mysql from 'mysql2/promise'
import t from 'tap'
import { migrate } from '../db/migrate.ts'
import { explainUnreachable } from '../db/unreachable.ts'
import { readConfig } from '../config/read-config.ts'
import { isolatedEnv } from './helper.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer } from './support/process-server.ts'

// A service that cannot reach MySQL at start says which settings to check, in one line a person reads.

t.test('nothing listening at DATABASE_HOST:DATABASE_PORT: the message names both and the cause', async t => {
  const port = await freePort()
  const config = readConfig(isolatedEnv({ DATABASE_PORT: String(port) }))
  await t.rejects(migrate(config), {
    name: 'DatabaseUnreachable',
    message: `Cannot connect to MySQL at ${config.DATABASE_HOST}:${port} as ${config.DATABASE_USER} (ECONNREFUSED): nothing accepts connections there: is MySQL running, and are DATABASE_HOST and DATABASE_PORT right?`
  })
})

t.test('an account MySQL refuses: the message names the account settings', async t => {
  const config = readConfig(isolatedEnv({ DATABASE_USER: 'nv_no_such_account', DATABASE_PASSWORD: 'wrong' }))
  await t.rejects(migrate(config), {
    name: 'DatabaseUnreachable',
    message: /^Cannot connect to MySQL at \S+ as nv_no_such_account \(ER_ACCESS_DENIED_ERROR\): .*DATABASE_USER and DATABASE_PASSWORD/
  })
})

t.test('any other error passes unchanged', async t => {
  const settings = { host: 'db', port: 3306, user: 'u' }
  const unknownCode = Object.assign(new Error('other'), { code: 'ER_PARSE_ERROR' })
  t.equal(explainUnreachable(unknownCode, settings), unknownCode)
  const noCode = new Error('no code')
  t.equal(explainUnreachable(noCode, settings), noCode)
})

t.test('the server exits 1 with that one line, and no stack trace', async t => {
  const port = await freePort()
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...isolatedEnv({ DATABASE_PORT: String(port), LOG_LEVEL: 'info' }) }
  const server = spawnServer([process.execPath, 'server.ts'], { cwd: join(import.meta.dirname, '..'), env })
  t.teardown(() => server.stop(2000))
  const exit = await server.exited
  t.equal(exit.code, 1, server.output())
  t.match(server.output(), `Cannot connect to MySQL at ${env.DATABASE_HOST ?? ''}:${port} as ${env.DATABASE_USER ?? ''} (ECONNREFUSED)`)
  t.notMatch(server.output(), /^\s+at /m, 'no stack trace')
})

t.test('a failure the service cannot explain exits 1 with its stack, for whoever must debug it', async t => {
  // An account that may connect but create nothing: the database's creation is refused (ER_DBACCESS_DENIED_ERROR).
  const local = isolatedEnv()
  const admin = await mysql.createConnection({
    host: local.DATABASE_HOST, port: Number(local.DATABASE_PORT), user: local.DATABASE_USER, password: local.DATABASE_PASSWORD
  })
  const account = `nv_start_${process.pid}`
  await admin.query('CREATE USER IF NOT EXISTS ?@\'%\' IDENTIFIED BY \'no-privileges\'', [account])
  t.teardown(async () => {
    await admin.query('DROP USER IF EXISTS ?@\'%\'', [account])
    await admin.end()
  })
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...isolatedEnv({ DATABASE_USER: account, DATABASE_PASSWORD: 'no-privileges' }) }
  const server = spawnServer([process.execPath, 'server.ts'], { cwd: join(import.meta.dirname, '..'), env })
  t.teardown(() => server.stop(2000))
  const exit = await server.exited
  t.equal(exit.code, 1, server.output())
  t.match(server.output(), /Access denied for user/)
  t.match(server.output(), /^\s+at /m, 'the stack is kept')
})
