import { join } from 'node:path'
import mysql from 'mysql2/promise'
import t, { type Test } from 'tap'
import { build, cleanUp, isolatedEnv } from './helper.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'

const ROOT = join(import.meta.dirname, '..')

/** A MySQL account that may hold only two connections at once. */
async function userWithTwoConnections (t: Test, env: Record<string, string>): Promise<Record<string, string>> {
  const user = `nv_pool_${process.pid}_${env.DATABASE_NAME?.slice(-3)}`
  const admin = await mysql.createConnection({ host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD })
  t.teardown(async () => {
    await admin.query('DROP USER IF EXISTS ?@?', [user, '%'])
    await admin.end()
  })
  await admin.query('CREATE USER ?@? IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS 2', [user, '%', 'pool-password'])
  await admin.query(`GRANT ALL ON ${admin.escapeId(env.DATABASE_NAME ?? '')}.* TO ?@?`, [user, '%'])
  await admin.query('GRANT CREATE ON *.* TO ?@?', [user, '%'])
  return { DATABASE_USER: user, DATABASE_PASSWORD: 'pool-password' }
}

t.test('a pool MySQL lets open only in part at start: the service says so, starts, and serves', async t => {
  const port = await freePort()
  const env = isolatedEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '4' })
  t.teardown(() => cleanUp(env))
  const account = await userWithTwoConnections(t, env)

  const server = spawnServer([process.execPath, 'server.ts'], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env, ...account }
  })
  t.teardown(() => server.stop())
  await waitForStatus(server, `http://127.0.0.1:${port}/ready`)
  t.match(server.output(), /"opened":2,"poolSize":4,.*"msg":"MySQL pool only partly opened at start; the rest opens on demand"/)
  const answer = await fetch(`http://127.0.0.1:${port}/active?country=NI&city=Managua`)
  t.same(await answer.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
})

t.test('the same, built in this process as the tests build every app', async t => {
  const env = isolatedEnv({ DATABASE_POOL_SIZE: '4' })
  const account = await userWithTwoConnections(t, env)
  const app = await build(t, { ...env, ...account })
  t.same((await app.inject({ url: '/active?country=NI&city=Managua' })).json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
})
