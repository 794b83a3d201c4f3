import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import mysql from 'mysql2/promise'
import { migrate } from '../db/migrate.ts'
import { readConfig } from '../plugins/config.ts'
import { cleanUp, isolatedEnv } from './helper.ts'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')

async function rootConnection (env: Record<string, string>) {
  return await mysql.createConnection({ host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD })
}

t.test('migrate creates a missing database, and running it again changes nothing', async t => {
  const env = isolatedEnv()
  t.teardown(() => cleanUp(env))
  const config = readConfig(env)
  t.equal(await migrate(config), 2)
  t.equal(await migrate(config), 2)
  const connection = await rootConnection(env)
  t.teardown(() => connection.end())
  const [columns] = await connection.query('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position', [config.DATABASE_NAME, 'locations'])
  t.same((columns as Array<{ name: string }>).map(column => column.name), ['id', 'country', 'city', 'city_key', 'active', 'created_at', 'updated_at'])
})

t.test('a user who may not create databases can still migrate one an administrator made', async t => {
  const env = isolatedEnv()
  const user = `nv_${process.pid}`
  const admin = await rootConnection(env)
  t.teardown(async () => {
    await admin.query('DROP USER IF EXISTS ?@?', [user, '%'])
    await admin.end()
    await cleanUp(env)
  })
  await admin.query(`CREATE DATABASE ${admin.escapeId(env.DATABASE_NAME ?? '')}`)
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', 'limited-password'])
  await admin.query(`GRANT ALL ON ${admin.escapeId(env.DATABASE_NAME ?? '')}.* TO ?@?`, [user, '%'])

  const limited = readConfig({ ...env, DATABASE_USER: user, DATABASE_PASSWORD: 'limited-password' })
  t.equal(await migrate(limited), 2)

  const missing = readConfig({ ...env, DATABASE_USER: user, DATABASE_PASSWORD: 'limited-password', DATABASE_NAME: `${env.DATABASE_NAME}_missing` })
  await t.rejects(migrate(missing), { message: /denied/ }, 'without the database and the right to create it, migrate fails and says why')
})

t.test('npm run migrate and npm run seed work from the command line', async t => {
  const env = isolatedEnv()
  t.teardown(() => cleanUp(env))
  const options = { cwd: ROOT, env: { PATH: process.env.PATH, ...env } }
  const migrated = await run(process.execPath, ['scripts/migrate.ts'], options)
  t.match(migrated.stdout, `${env.DATABASE_NAME} is at schema version 2`)
  const seeded = await run(process.execPath, ['scripts/seed.ts'], options)
  t.match(seeded.stdout, /^2\d\d demo locations added/)
  const again = await run(process.execPath, ['scripts/seed.ts'], options)
  t.match(again.stdout, /^0 demo locations added/)
})

t.test('migrate refuses to run without the migration lock, and says so', async t => {
  const env = isolatedEnv()
  t.teardown(() => cleanUp(env))
  const holder = await rootConnection(env)
  t.teardown(() => holder.end())
  await holder.query('SELECT GET_LOCK(?, 10)', ['nicaventas_migrations'])
  await t.rejects(migrate(readConfig(env), 1), { message: /migration lock/ })
  await holder.query('SELECT RELEASE_LOCK(?)', ['nicaventas_migrations'])
  t.equal(await migrate(readConfig(env)), 2, 'and runs once it is free')
})
