import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { countryKeys } from '../services/availability/location-keys.ts'
import { build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'

// A country's list is cached as a value and a hash of its cities' versions, which also names the
// fill that wrote the value. Others may change the value alone: Redis eviction, or, during a
// rolling upgrade, instances of the version before the hash, which delete and fill the value only.
// Neither a hit nor a record may then trust the hash.

t.setTimeout(120_000)

interface Listed { cities: Array<{ city: string, active: boolean }>, redis_cache: string }

const listed = async (app: FastifyInstance): Promise<Listed> => (await app.inject({ url: '/active/cities?country=NI' })).json()
const granada = (list: Listed) => list.cities.find(city => city.city === 'Granada')

async function redisOf (t: Test, app: FastifyInstance): Promise<Redis> {
  const redis = new Redis({ host: app.config.REDIS_LOCATION, port: app.config.REDIS_PORT })
  t.teardown(() => redis.quit())
  return redis
}

// The longest interval: the sync applies nothing but the passes a test runs itself.
const NO_TIMED_SYNC = { CACHE_SYNC_INTERVAL_MS: '60000' }

/** An app whose first read of NI's list missed and cached it, with SQL and Redis at hand. */
async function withListCached (t: Test) {
  const app = await build(t, NO_TIMED_SYNC)
  const sql = await directSql(t, app)
  const redis = await redisOf(t, app)
  t.equal((await listed(app)).redis_cache, 'miss')
  return { app, sql, redis, keys: countryKeys(app.config.CACHE_NAMESPACE, 'NI') }
}

t.test('a write of the previous version, which deletes the value but not the hash, is seen by the next read', async t => {
  const { app, sql, redis, keys } = await withListCached(t)
  t.equal((await listed(app)).redis_cache, 'hit', 'the list this process kept')

  // What the previous version's PUT does: the change, then DEL of the list's value, stale copy and lease.
  await sql.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'granada'")
  await redis.del(keys.value, keys.stale, keys.lease)

  const after = await listed(app)
  t.same([after.redis_cache, granada(after)], ['miss', { city: 'Granada', active: true }], 'read again from MySQL, not the list kept')
})

t.test('a value filled again by the previous version is read, not the list kept under the hash left over', async t => {
  const { app, sql, redis, keys } = await withListCached(t)
  const cached = await redis.get(keys.value) as string

  await sql.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'granada'")
  await redis.del(keys.value, keys.stale, keys.lease)
  // The previous version's fill: the value alone, read from MySQL after the change.
  const refilled = JSON.parse(cached) as { cities: Array<{ key: string, active: boolean, version: number }> }
  for (const city of refilled.cities) {
    if (city.key === 'granada') Object.assign(city, { active: true, version: city.version + 1 })
  }
  await redis.set(keys.value, JSON.stringify(refilled), 'PX', 60_000)

  const after = await listed(app)
  t.same([after.redis_cache, granada(after)], ['hit', { city: 'Granada', active: true }], 'the value Redis holds')
})

t.test('a record about a list whose hash is gone deletes the list, even when the record is a delete', async t => {
  const { app, sql, redis, keys } = await withListCached(t)
  // Redis eviction (allkeys-*) may drop the hash and keep the value.
  await redis.del(keys.members)

  await sql.query("DELETE FROM locations WHERE country = 'NI' AND city_key = 'granada'")
  await app.recordSync.syncNow()
  const after = await listed(app)
  t.same([after.redis_cache, granada(after)], ['miss', undefined], 'the list was deleted, and read again without the city')
})

t.test('a record about a list filled again by the previous version is not checked against the hash left over', async t => {
  const { app, sql, redis, keys } = await withListCached(t)
  const cached = JSON.parse(await redis.get(keys.value) as string) as { cities: Array<Record<string, unknown>> }

  // A city added and soon removed in SQL; the previous version filled the list in between, the value alone.
  await sql.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Ocotal', 'ocotal', 1)")
  await redis.del(keys.value, keys.stale, keys.lease)
  cached.cities.push({ city: 'Ocotal', active: true, key: 'ocotal', version: 1 })
  await redis.set(keys.value, JSON.stringify(cached), 'PX', 60_000)
  await sql.query("DELETE FROM locations WHERE country = 'NI' AND city_key = 'ocotal'")

  await app.recordSync.syncNow()
  const after = await listed(app)
  t.same([after.redis_cache, after.cities.some(city => city.city === 'Ocotal')], ['miss', false], 'the list was deleted: the hash did not hold the removed city')
})
