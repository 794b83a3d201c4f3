import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { buildApp, type AppOptions } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { locationKeys } from '../services/availability/location-keys.ts'
import { AUTH, cleanUp, isolatedEnv, TOKEN } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { until } from './support/until.ts'

// The durable invalidation records (db/migrations/005-011, services/cache/record-sync.ts): every
// change to `locations`, by whoever, reaches every instance's cache within CACHE_SYNC_INTERVAL_MS.

t.setTimeout(120_000)

const INTERVAL_MS = 1000
// The promised bound: the sync interval plus a second.
const BOUND_MS = INTERVAL_MS + 1000

/** Instances sharing one database and one key namespace, as replicas do; each override applies to one instance. */
async function instances (
  t: Test, overrides: Array<Record<string, string>>, shared: Record<string, string> = {}, options: Omit<AppOptions, 'config'> = {}
): Promise<FastifyInstance[]> {
  const env = isolatedEnv({ CACHE_SYNC_INTERVAL_MS: String(INTERVAL_MS), ...shared })
  const apps: FastifyInstance[] = []
  t.teardown(async () => {
    await Promise.all(apps.map(app => app.close()))
    await cleanUp(env)
  })
  for (const override of overrides) {
    const app = await buildApp({ ...options, config: readConfig({ ...env, ...override }) })
    apps.push(app)
    await app.ready()
  }
  return apps
}

const location = async (app: FastifyInstance, city: string) => {
  const response = await app.inject({ url: `/active?country=NI&city=${encodeURIComponent(city)}` })
  return { status: response.statusCode, active: response.statusCode === 200 ? response.json().active as boolean : undefined, outcome: response.statusCode === 200 ? response.json().redis_cache as string : undefined }
}
const listed = async (app: FastifyInstance) => {
  const response = await app.inject({ url: '/active/cities?country=NI' })
  return response.json() as { cities: Array<{ city: string, active: boolean }>, redis_cache: string }
}
const cityIn = async (app: FastifyInstance, city: string) => (await listed(app)).cities.find(entry => entry.city === city)

/** How long after `since` every check held; fails if one did not within the bound. */
async function seenWithin (t: Test, what: string, since: number, checks: Array<() => Promise<boolean>>): Promise<number> {
  await until(async () => (await Promise.all(checks.map(check => check()))).every(Boolean), what, BOUND_MS + 3000)
  const delay = performance.now() - since
  t.ok(delay <= BOUND_MS, `${what}: seen by every instance after ${delay.toFixed(0)} ms (bound ${BOUND_MS} ms)`)
  return delay
}

t.test('direct SQL edits are seen by two instances, on GET /active and on the country list, within the interval plus a second', async t => {
  const [a, b] = await instances(t, [{}, {}]) as [FastifyInstance, FastifyInstance]
  const sql = await directSql(t, a)
  const both = [a, b]
  // Warm both instances' view of everything the edits will touch, so an old answer is there to be served.
  for (const app of both) {
    await location(app, 'Managua')
    await location(app, 'Ocotal')
    await listed(app)
  }
  t.same(await location(b, 'Managua'), { status: 200, active: true, outcome: 'hit' })
  t.same(await location(b, 'Ocotal'), { status: 404, active: undefined, outcome: undefined })
  t.equal((await listed(b)).redis_cache, 'hit')

  const delays: number[] = []
  let since = performance.now()
  await sql.query("UPDATE locations SET active = 0 WHERE country = 'NI' AND city_key = 'managua'")
  delays.push(await seenWithin(t, 'UPDATE', since, both.flatMap(app => [
    async () => (await location(app, 'Managua')).active === false,
    async () => (await cityIn(app, 'Managua'))?.active === false
  ])))

  since = performance.now()
  await sql.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Ocotal', 'ocotal', 1)")
  delays.push(await seenWithin(t, 'INSERT over a cached "not found"', since, both.flatMap(app => [
    async () => (await location(app, 'Ocotal')).active === true,
    async () => (await cityIn(app, 'Ocotal'))?.active === true
  ])))

  since = performance.now()
  await sql.query("DELETE FROM locations WHERE country = 'NI' AND city_key = 'ocotal'")
  delays.push(await seenWithin(t, 'DELETE', since, both.flatMap(app => [
    async () => (await location(app, 'Ocotal')).status === 404,
    async () => (await cityIn(app, 'Ocotal')) === undefined
  ])))
  t.comment(`direct SQL edit visible on both instances after: ${delays.map(ms => `${ms.toFixed(0)} ms`).join(', ')}`)
})

t.test('an API write costs one miss: applying its record later leaves the fresh entry alone', async t => {
  const [app] = await instances(t, [{}]) as [FastifyInstance]
  await location(app, 'Granada')
  await listed(app)
  const put = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Granada', active: true } })
  t.equal(put.statusCode, 200)
  t.same(await location(app, 'Granada'), { status: 200, active: true, outcome: 'miss' })
  t.equal((await listed(app)).redis_cache, 'miss')

  const applied = app.availabilityCache.stats.records.applied
  await app.recordSync.syncNow()
  t.ok(app.availabilityCache.stats.records.applied > applied, 'the PUT\'s record was applied')
  t.same(await location(app, 'Granada'), { status: 200, active: true, outcome: 'hit' }, 'and the entry cached after the PUT is still there')
  t.equal((await listed(app)).redis_cache, 'hit', 'so is the list')

  const removed = await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Granada', headers: AUTH })
  t.equal(removed.statusCode, 204)
  t.equal((await location(app, 'Granada')).status, 404)
  await app.recordSync.syncNow()
  t.equal((await app.inject({ url: '/active?country=NI&city=Granada' })).statusCode, 404)
  t.equal(app.availabilityCache.stats.outcomes.hit > 0, true)
  t.same(app.availabilityCache.stats.fills.refused, 0, 'no fill was refused')
})

t.test('a replica cut off from Redis: the others see its acknowledged write within the interval', async t => {
  const proxy = await startTcpProxy(Number(process.env.REDIS_PORT ?? 6379))
  t.teardown(() => proxy.close())
  const [cutOff, other] = await instances(t, [{ REDIS_PORT: String(proxy.port) }, {}]) as [FastifyInstance, FastifyInstance]
  await location(cutOff, 'Rivas')
  t.same(await location(other, 'Rivas'), { status: 200, active: false, outcome: 'hit' }, 'the old answer is cached')

  await proxy.cut()
  const since = performance.now()
  const put = await cutOff.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Rivas', active: true } })
  t.equal(put.statusCode, 200, 'the write is acknowledged')
  t.equal(cutOff.availabilityCache.pendingInvalidations, 1, 'its own invalidation could not reach Redis')
  const delay = await seenWithin(t, 'the cut-off replica\'s write', since, [async () => (await location(other, 'Rivas')).active === true])
  t.comment(`write by a replica cut off from Redis seen by the other after ${delay.toFixed(0)} ms`)
  t.equal((await location(cutOff, 'Rivas')).outcome, 'bypass', 'the cut-off replica reads MySQL meanwhile')
  await t.rejects(cutOff.recordSync.syncNow(), 'its own sync cannot apply records while Redis is cut')
  await proxy.restore()
  await until(async () => cutOff.availabilityCache.pendingInvalidations === 0, 'the retry landed')
  await cutOff.recordSync.syncNow()
  t.equal(cutOff.recordSync.appliedUpTo, other.recordSync.appliedUpTo, 'once Redis answers, its sync catches up with the other\'s')
})

t.test('an acknowledged PUT whose process could not reach Redis and was killed with SIGKILL is applied by a fresh instance', async t => {
  const proxy = await startTcpProxy(Number(process.env.REDIS_PORT ?? 6379))
  t.teardown(() => proxy.close())
  const port = await freePort()
  // Only the start-up pass can apply it: the fresh instance's interval is far longer than the test.
  const env = isolatedEnv({ CACHE_SYNC_INTERVAL_MS: '60000' })
  t.teardown(() => cleanUp(env))
  const server = spawnServer([process.execPath, 'server.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...env, PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), REDIS_PORT: String(proxy.port) }
  })
  t.teardown(() => server.stop(1000))
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(server, `${base}/health`)
  const read = async () => await (await fetch(`${base}/active?country=NI&city=Masaya`)).json() as { active: boolean, redis_cache: string }
  await read()
  t.same(await read(), { active: false, country: 'NI', city: 'Masaya', redis_cache: 'hit' }, 'the old answer is cached in Redis')

  await proxy.cut()
  const put = await fetch(`${base}/active`, {
    method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ country: 'NI', city: 'Masaya', active: true })
  })
  t.equal(put.status, 200, 'acknowledged, its invalidation pending in that process only')
  server.child.kill('SIGKILL')
  t.equal((await server.exited).signal, 'SIGKILL')

  const redis = new Redis({ host: env.REDIS_LOCATION, port: Number(env.REDIS_PORT) })
  t.teardown(() => redis.quit())
  const keys = locationKeys(env.CACHE_NAMESPACE as string, { country: 'NI', cityKey: 'masaya' })
  t.match(JSON.parse(await redis.get(keys.value) ?? 'null'), { active: false }, 'Redis still holds the old answer')

  const fresh = await buildApp({ config: readConfig(env) })
  t.teardown(() => fresh.close())
  await fresh.ready()
  const answer = await fresh.inject({ url: '/active?country=NI&city=Masaya' })
  t.same(answer.json(), { active: true, country: 'NI', city: 'Masaya', redis_cache: 'miss' }, 'the fresh instance applied the record on start')
})

t.test('a change whose transaction commits after a later one is still applied', async t => {
  const [app] = await instances(t, [{}]) as [FastifyInstance]
  const holder = await directSql(t, app)
  const other = await directSql(t, app)
  for (const city of ['Granada', 'Masaya']) {
    await location(app, city)
    t.equal((await location(app, city)).outcome, 'hit', `${city} is cached`)
  }

  // Granada's record takes its id now, but commits only after Masaya's, which the sync applies first.
  await holder.query('BEGIN')
  await holder.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'granada'")
  await other.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'masaya'")
  await until(async () => (await location(app, 'Masaya')).active === true, 'the later change applied by the sync')
  t.equal((await location(app, 'Granada')).active, false, 'the open transaction is not visible yet')
  const since = performance.now()
  await holder.query('COMMIT')
  await seenWithin(t, 'the change committed late', since, [async () => (await location(app, 'Granada')).active === true])
})

t.test('an id whose transaction rolled back is awaited for the gap wait, then given up', async t => {
  const [app] = await instances(t, [{}], {}, { recordGapWaitMs: 300 }) as [FastifyInstance]
  const holder = await directSql(t, app)
  await holder.query('BEGIN')
  await holder.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'granada'")
  await holder.query('ROLLBACK')
  await holder.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'masaya'")
  await app.recordSync.syncNow()
  t.equal(app.recordSync.awaited, 1, 'the rolled-back change\'s id is looked for')
  t.match((await app.inject({ url: '/metrics' })).body, /^nicaventas_cache_records_awaited 1$/m)
  await until(async () => {
    await app.recordSync.syncNow()
    return app.recordSync.awaited === 0
  }, 'given up after the gap wait', 3000)
  t.same(await location(app, 'Granada'), { status: 200, active: false, outcome: 'miss' }, 'nothing was applied for it')
})

t.test('old records are purged at start and the history is kept', async t => {
  const [app] = await instances(t, [{}], { CACHE_TTL_SECONDS: '1', CACHE_GRACE_SECONDS: '0' }) as [FastifyInstance]
  const sql = await directSql(t, app)
  await sql.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'rivas'")
  // Older than any key could live (1 s) plus the purge's margin; and one young record.
  await sql.query('UPDATE cache_invalidations SET created_at = UTC_TIMESTAMP(3) - INTERVAL 2 MINUTE')
  await sql.query("UPDATE locations SET active = 0 WHERE country = 'NI' AND city_key = 'rivas'")
  const [[before]] = await sql.query('SELECT COUNT(*) AS records FROM cache_invalidations') as unknown as [[{ records: number }]]
  const [[history]] = await sql.query('SELECT COUNT(*) AS changes FROM location_changes') as unknown as [[{ changes: number }]]
  t.ok(before.records > 1)

  const restarted = await buildApp({ config: app.config })
  t.teardown(() => restarted.close())
  await restarted.ready()
  const [[after]] = await sql.query('SELECT COUNT(*) AS records FROM cache_invalidations') as unknown as [[{ records: number }]]
  const [[kept]] = await sql.query('SELECT COUNT(*) AS changes FROM location_changes') as unknown as [[{ changes: number }]]
  t.equal(after.records, 1, 'only the young record is left')
  t.equal(kept.changes, history.changes, 'every history row is kept')
})

/** Holds the next MySQL read of `entry` between the read and its fill, until released. */
function holdNextRead () {
  let wanted: string | undefined
  let reached = () => {}
  let release = () => {}
  return {
    afterDatabaseRead: async (entry: string) => {
      if (entry !== wanted) return
      wanted = undefined
      const released = new Promise<void>(resolve => { release = resolve })
      reached()
      await released
    },
    arm (entry: string): Promise<void> {
      wanted = entry
      return new Promise<void>(resolve => { reached = resolve })
    },
    release: () => release()
  }
}

t.test('a record leaves a filling reader its lease: its floor refuses only a fill read before the change', async t => {
  const gate = holdNextRead()
  const [app] = await instances(t, [{}], {}, { afterDatabaseRead: gate.afterDatabaseRead }) as [FastifyInstance]
  const sql = await directSql(t, app)
  const { fills } = app.availabilityCache.stats

  // A reader reads Managua, then an administrator's UPDATE commits and its record is applied before the reader fills.
  let held = gate.arm('NI:managua')
  const early = location(app, 'Managua')
  await held
  await sql.query("UPDATE locations SET active = 0 WHERE country = 'NI' AND city_key = 'managua'")
  await app.recordSync.syncNow()
  gate.release()
  t.same(await early, { status: 200, active: true, outcome: 'miss' }, 'the reader answers what it read')
  t.same(fills, { stored: 0, refused: 1 }, 'its fill, older than the change, was refused by the floor')
  t.same(await location(app, 'Managua'), { status: 200, active: false, outcome: 'miss' }, 'the next reader reads the change')
  t.same(await location(app, 'Managua'), { status: 200, active: false, outcome: 'hit' })

  // After an API write, the reader that fills has read the write: applying the write's record must not cost it its fill.
  t.equal((await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Granada', active: true } })).statusCode, 200)
  held = gate.arm('NI:granada')
  const late = location(app, 'Granada')
  await held
  await app.recordSync.syncNow()
  gate.release()
  t.same(await late, { status: 200, active: true, outcome: 'miss' })
  t.same(fills, { stored: 2, refused: 1 }, 'its fill was stored')
  t.same(await location(app, 'Granada'), { status: 200, active: true, outcome: 'hit' }, 'and is served: one MySQL read for the write, not two')
})

t.test('closing while a pass waits on MySQL waits for that pass, and schedules no other', async t => {
  const env = isolatedEnv({ CACHE_SYNC_INTERVAL_MS: '10' })
  t.teardown(() => cleanUp(env))
  const app = await buildApp({ config: readConfig(env) })
  await app.ready()
  const sql = await directSql(t, app)
  const observer = await directSql(t, app)
  // A table lock holds the next pass's read of the records.
  await sql.query('LOCK TABLES cache_invalidations WRITE')
  await until(async () => {
    const [rows] = await observer.query(
      "SELECT COUNT(*) AS waiting FROM information_schema.processlist WHERE db = ? AND info LIKE '%FROM cache_invalidations%' AND state LIKE 'Waiting%'",
      [env.DATABASE_NAME]) as unknown as [[{ waiting: number }]]
    return Number(rows[0].waiting) >= 1
  }, 'a pass waiting on the lock')
  let closed = false
  const closing = app.close().then(() => { closed = true })
  await sleep(200)
  t.notOk(closed, 'closing waits for the pass in flight')
  await sql.query('UNLOCK TABLES')
  await closing
  t.ok(closed, 'and ends once that pass has, without scheduling another')
})
