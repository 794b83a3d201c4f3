import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import mysql from 'mysql2/promise'
import { buildApp } from '../app.ts'
import { explainRefusal, migrate } from '../db/migrate.ts'
import { readConfig } from '../config/read-config.ts'
import { cleanUp, isolatedEnv } from './helper.ts'

const run = promisify(execFile)
// The newest migration in db/migrations.
const LATEST = 24
const ROOT = join(import.meta.dirname, '..')

async function rootConnection (env: Record<string, string>) {
  return await mysql.createConnection({ host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD })
}

t.test('migrate creates a missing database, and running it again changes nothing', async t => {
  const env = isolatedEnv()
  t.teardown(() => cleanUp(env))
  const config = readConfig(env)
  t.equal(await migrate(config), LATEST)
  t.equal(await migrate(config), LATEST)
  const connection = await rootConnection(env)
  t.teardown(() => connection.end())
  const [columns] = await connection.query('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position', [config.DATABASE_NAME, 'locations'])
  t.same((columns as Array<{ name: string }>).map(column => column.name), ['id', 'country', 'city', 'city_key', 'active', 'created_at', 'updated_at', 'version'])
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
  t.equal(await migrate(limited), LATEST)

  const missing = readConfig({ ...env, DATABASE_USER: user, DATABASE_PASSWORD: 'limited-password', DATABASE_NAME: `${env.DATABASE_NAME}_missing` })
  await t.rejects(migrate(missing), { message: /denied/ }, 'without the database and the right to create it, migrate fails and says why')
})

t.test('npm run migrate and npm run seed work from the command line', async t => {
  const env = isolatedEnv()
  t.teardown(() => cleanUp(env))
  const options = { cwd: ROOT, env: { PATH: process.env.PATH, ...env } }
  const migrated = await run(process.execPath, ['scripts/migrate.ts'], options)
  t.match(migrated.stdout, `${env.DATABASE_NAME} is at schema version ${LATEST}`)
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
  t.equal(await migrate(readConfig(env)), LATEST, 'and runs once it is free')
})

t.test('a user without the TRIGGER privilege: start-up stops with a message saying what it needs, and a later start resumes', async t => {
  const env = isolatedEnv()
  const user = `nv_trig_${process.pid}`
  const admin = await rootConnection(env)
  t.teardown(async () => {
    await admin.query('DROP USER IF EXISTS ?@?', [user, '%'])
    await admin.end()
    await cleanUp(env)
  })
  const database = admin.escapeId(env.DATABASE_NAME ?? '')
  await admin.query(`CREATE DATABASE ${database}`)
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', 'no-trigger-password'])
  // Everything a migration needs but TRIGGER.
  await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, CREATE ROUTINE, ALTER ROUTINE, EXECUTE ON ${database}.* TO ?@?`, [user, '%'])
  const limitedEnv = { ...env, DATABASE_USER: user, DATABASE_PASSWORD: 'no-trigger-password' }

  await t.rejects(buildApp({ config: readConfig(limitedEnv) }), {
    name: 'TriggerCreationRefused',
    message: /the TRIGGER privilege, and with binary logging on \(the default in MySQL 8\.4\) also log_bin_trust_function_creators=1 on the server, or the SUPER privilege/
  }, 'the app does not start, and says exactly what is missing')

  await admin.query(`GRANT TRIGGER ON ${database}.* TO ?@?`, [user, '%'])
  t.equal(await migrate(readConfig(limitedEnv)), LATEST, 'once granted, the next start applies the rest')
})

t.test('MySQL 8.4\'s refusals under binary logging get the same message; other errors pass unchanged', async t => {
  // The codes MySQL sends where MariaDB here sends 1142 (no binary logging on this server): the same mapping, shown directly.
  const binlog = { errno: 1419, sqlMessage: 'You do not have the SUPER privilege and binary logging is enabled (you *might* want to use the less safe log_bin_trust_function_creators variable)' }
  const superNeeded = { errno: 1227, sqlMessage: 'Access denied; you need (at least one of) the SUPER privilege(s) for this operation' }
  for (const refusal of [binlog, superNeeded]) {
    const explained = explainRefusal(refusal) as Error
    t.equal(explained.name, 'TriggerCreationRefused', `error ${refusal.errno}`)
    t.match(explained.message, /log_bin_trust_function_creators=1/)
    t.equal(explained.cause, refusal, 'MySQL\'s own error kept as the cause')
  }
  const other = { errno: 1142, sqlMessage: 'DROP command denied to user' }
  t.equal(explainRefusal(other), other)
  const bare = { errno: 1227 }
  t.equal(explainRefusal(bare), bare, 'a denial without a message says nothing of triggers and passes unchanged')
  const unrelated = new Error('connection lost')
  t.equal(explainRefusal(unrelated), unrelated)
})
