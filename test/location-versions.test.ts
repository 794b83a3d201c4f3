import { join } from 'node:path'
import mysql, { type RowDataPacket } from 'mysql2/promise'
import Postgrator from 'postgrator'
import t from 'tap'
import { cleanUp, isolatedEnv } from './helper.ts'

// The schema before location_versions (db/migrations/015): versions came from the history.
const BEFORE_VERSIONS = '14'
const LATEST = '23'

t.test('versions continue across the upgrade to location_versions, a re-create and a move, and the upgrade can be undone', async t => {
  const env = isolatedEnv()
  const db = await mysql.createConnection({ host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD })
  t.teardown(async () => {
    await db.end()
    await cleanUp(env)
  })
  await db.query(`CREATE DATABASE ${db.escapeId(env.DATABASE_NAME!)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  await db.changeUser({ database: env.DATABASE_NAME })
  const postgrator = new Postgrator({
    migrationPattern: join(import.meta.dirname, '..', 'db', 'migrations', '*'),
    driver: 'mysql',
    database: env.DATABASE_NAME,
    schemaTable: 'schemaversion',
    execQuery: async query => {
      const [rows] = await db.query(query)
      return { rows: Array.isArray(rows) ? rows : [] }
    }
  })
  const versions = async () => (await db.query<RowDataPacket[]>('SELECT action, city_key, version FROM location_changes ORDER BY id'))[0]
    .map(({ action, city_key: key, version }) => `${action} ${key} ${version}`)

  await postgrator.migrate(BEFORE_VERSIONS)
  await db.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Masaya', 'masaya', 1)")
  await db.query("UPDATE locations SET active = 0 WHERE city_key = 'masaya'")
  await db.query("DELETE FROM locations WHERE city_key = 'masaya'")
  await db.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Rivas', 'rivas', 1)")

  await postgrator.migrate(LATEST)
  await db.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Masaya', 'masaya', 1)")
  await db.query("DELETE FROM locations WHERE city_key = 'rivas'")
  await db.query("UPDATE locations SET city = 'Rivas', city_key = 'rivas' WHERE city_key = 'masaya'")
  await db.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Masaya', 'masaya', 0)")
  t.same(await versions(), [
    'create masaya 1', 'update masaya 2', 'delete masaya 3', 'create rivas 1',
    'create masaya 4', // above its delete before the upgrade
    'delete rivas 2',
    'delete masaya 5', 'create rivas 5', // a move: above the moved row and the target's past
    'create masaya 6' // above the move away
  ])

  await postgrator.migrate(BEFORE_VERSIONS)
  const [triggers] = await db.query<RowDataPacket[]>('SELECT trigger_name AS name FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY trigger_name')
  t.same(triggers.map(({ name }) => name), [
    'locations_after_delete', 'locations_after_insert', 'locations_after_update', 'locations_before_insert', 'locations_before_update'
  ], 'undone: the triggers of 007-011 again')
  await db.query("DELETE FROM locations WHERE city_key = 'masaya'")
  await postgrator.migrate(LATEST)
  await db.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Masaya', 'masaya', 1)")
  t.equal((await versions()).at(-1), 'create masaya 8', 'and redone, versions still continue')
})
