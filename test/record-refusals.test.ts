import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import type { Connection } from 'mysql2/promise'
import t, { type Test } from 'tap'
import { locationKeys } from '../services/availability/location-keys.ts'
import { build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { startRedisServer } from './support/redis-server.ts'
import { until } from './support/until.ts'

// The record sync gives a record up only when Redis refuses its keys themselves (a key of the
// wrong type, a script failing on what they hold). Redis unable to write at all is an outage:
// nothing is given up and nothing advances until it is over.

t.setTimeout(120_000)

const INTERVAL_MS = 1000
const GAP_WAIT_MS = 1500

async function newestRecord (sql: Connection): Promise<number> {
  const [rows] = await sql.query('SELECT MAX(id) AS newest FROM cache_invalidations') as unknown as [Array<{ newest: number }>]
  return Number(rows[0]?.newest)
}

const managua = async (app: FastifyInstance) => (await app.inject({ url: '/active?country=NI&city=Managua' })).json()

function connect (t: Test, port: number): Redis {
  const redis = new Redis({ port })
  t.teardown(() => redis.quit())
  return redis
}

t.test('Redis out of memory: records are not given up, nothing advances past them, and they apply once it is over', async t => {
  const redisServer = await startRedisServer()
  t.teardown(() => redisServer.kill())
  const app = await build(t, { REDIS_PORT: String(redisServer.port), CACHE_SYNC_INTERVAL_MS: String(INTERVAL_MS) }, { recordGapWaitMs: GAP_WAIT_MS })
  const sql = await directSql(t, app)
  const direct = connect(t, redisServer.port)
  t.equal((await managua(app)).redis_cache, 'miss')
  t.equal((await managua(app)).redis_cache, 'hit', 'Managua cached')
  const before = app.recordSync.appliedUpTo

  // A real fault: every write Redis is asked for answers OOM (the record's script sets a floor).
  await direct.config('SET', 'maxmemory-policy', 'noeviction')
  await direct.config('SET', 'maxmemory', '1')
  t.teardown(() => direct.config('SET', 'maxmemory', '0'))
  await sql.query("UPDATE locations SET active = 0 WHERE country = 'NI' AND city_key = 'managua'")
  const record = await newestRecord(sql)
  // Passes enough for a refused record to be given up: the interval three times over, and twice the gap wait.
  await sleep(Math.max(3 * INTERVAL_MS, 2 * GAP_WAIT_MS) + 500)
  t.equal(app.recordSync.appliedUpTo, before, 'the sync did not advance past the record')
  t.equal(app.recordSync.awaited, 0, 'nor took it for a refused one')

  await direct.config('SET', 'maxmemory', '0')
  await until(async () => app.recordSync.appliedUpTo >= record, 'the record applied once Redis writes again', 3 * INTERVAL_MS + 5000)
  t.match(await managua(app), { active: false, redis_cache: 'miss' }, 'and its change is seen')
})

interface LogLine { level: number, msg: string, entry?: string, record?: number }

t.test('a refused entry is logged when it starts refusing, not on every pass; a refused record past the awaited limit is given up', async t => {
  const written: string[] = []
  const app = await build(t, { LOG_LEVEL: 'warn', CACHE_SYNC_INTERVAL_MS: String(INTERVAL_MS) },
    { recordMaxGaps: 1, logStream: { write: line => { written.push(line) } } })
  const sql = await directSql(t, app)
  const redis = connect(t, app.config.REDIS_PORT)
  const lines = () => written.map(line => JSON.parse(line) as LogLine)
  const refusalsOf = (entry: string) => lines().filter(line => line.level === 40 && line.entry === entry).length
  // A real fault: a location's value that its record's script cannot read (a hash where a string belongs).
  const spoil = async (cityKey: string) => {
    await redis.hset(locationKeys(app.config.CACHE_NAMESPACE, { country: 'NI', cityKey }).value, 'not', 'a location')
  }

  await spoil('managua')
  await sql.query("UPDATE locations SET active = 0 WHERE country = 'NI' AND city_key = 'managua'")
  const first = await newestRecord(sql)
  await until(async () => app.recordSync.appliedUpTo >= first && app.recordSync.awaited === 1, 'the record refused and awaited', 3 * INTERVAL_MS + 5000)
  await sleep(3 * INTERVAL_MS)
  t.equal(refusalsOf('NI:managua'), 1, 'one warning over several passes')

  await spoil('masaya')
  await sql.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'masaya'")
  const second = await newestRecord(sql)
  await until(async () => app.recordSync.appliedUpTo >= second, 'the second record seen', 3 * INTERVAL_MS + 5000)
  t.equal(app.recordSync.awaited, 1, 'only as many records awaited as the limit')
  t.match(lines().filter(line => line.level === 50), [{ record: second, msg: /too many others are awaited; given up/ }], 'the one past the limit given up, and logged')

  await redis.del(locationKeys(app.config.CACHE_NAMESPACE, { country: 'NI', cityKey: 'managua' }).value)
  await until(async () => app.recordSync.awaited === 0, 'the refused record applied once Redis takes it', 3 * INTERVAL_MS + 5000)
  await spoil('managua')
  await sql.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'managua'")
  await until(async () => app.recordSync.awaited === 1, 'refused again', 3 * INTERVAL_MS + 5000)
  t.equal(refusalsOf('NI:managua'), 2, 'a new episode is logged again')
})
