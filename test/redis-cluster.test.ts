import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { Cluster } from 'ioredis'
import t, { type Test } from 'tap'
import type { AppOptions } from '../app.ts'
import { deleteCacheNamespace } from '../services/cache/keys.ts'
import { locationKeys, countryKeys } from '../services/availability/location-keys.ts'
import { locationId } from '../domain/location.ts'
import { AUTH, build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { checkFailover, failoverUnderLoad } from './support/failover-load.ts'
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.ts'
import { runUntilDecisive } from './support/stale-read-check.ts'
import { until } from './support/until.ts'

// The service on a real Redis Cluster of three masters, each with a replica, started by this
// file on free ports (support/redis-cluster.ts): the whole contract, the stale-set race, and a
// master killed while readers and writers run.

t.setTimeout(180_000)

let cluster: RedisCluster
t.before(async () => { cluster = await startRedisCluster() })
t.teardown(() => cluster.stop())

const onCluster = (t: Test, options: Omit<AppOptions, 'config'> = {}) =>
  build(t, { REDIS_CLUSTER_NODES: cluster.seeds, CACHE_SYNC_INTERVAL_MS: '200' }, options)

async function listening (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const get = (city: string) => ({ url: `/active?country=NI&city=${encodeURIComponent(city)}` })
const put = (city: string, active: boolean) => ({ method: 'PUT' as const, url: '/active', headers: AUTH, payload: { country: 'NI', city, active } })

/** A seed-list client of the test's own, to look at the keys the service wrote. */
async function inspector (t: Test): Promise<Cluster> {
  const [first] = cluster.seeds.split(',')
  const [host, port] = (first as string).split(':')
  const client = new Cluster([{ host: host as string, port: Number(port) }], { scaleReads: 'master' })
  t.teardown(() => client.quit())
  await client.cluster('INFO')
  return client
}

t.test('on a Redis Cluster, reads, writes, lists and conditional GETs keep their contract', async t => {
  const app = await onCluster(t)
  const redis = await inspector(t)
  const namespace = app.config.CACHE_NAMESPACE

  t.same((await app.inject(get('Managua'))).json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  const hit = await app.inject(get('Managua'))
  t.same(hit.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' })
  t.equal((await app.inject({ ...get('Managua'), headers: { 'if-none-match': hit.headers.etag as string } })).statusCode, 304, 'a conditional GET is answered 304')

  t.equal((await app.inject(put('Managua', false))).statusCode, 200)
  t.same((await app.inject(get('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' }, 'the write invalidated before it answered')
  t.equal(app.availabilityCache.stats.invalidations.done, 1, 'its invalidation counted as done')
  const waits = await Promise.all(redis.nodes('master').map(async node => /cmdstat_wait:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? '0'))
  t.ok(waits.some(calls => Number(calls) > 0), `after WAIT for a replica (WAIT calls per master: ${waits.join(', ')})`)

  // A location's three keys share one slot; locations are spread over the masters.
  const slots = async (keys: string[]) => new Set(await Promise.all(keys.map(key => redis.cluster('KEYSLOT', key))))
  const managua = locationKeys(namespace, locationId('NI', 'Managua'))
  t.equal((await slots([managua.value, managua.stale, managua.lease, managua.floor])).size, 1, 'a location\'s keys live in one slot')
  const list = countryKeys(namespace, 'NI')
  t.equal((await slots([list.value, list.stale, list.lease, list.members])).size, 1, 'a country list\'s keys live in one slot')
  const masters = new Set(await Promise.all(['Managua', 'León', 'Granada', 'Masaya', 'Rivas', 'Estelí'].map(city => cluster.masterOf(locationKeys(namespace, locationId('NI', city)).value))))
  t.ok(masters.size > 1, `the demo locations live on ${masters.size} masters`)

  t.equal((await app.inject({ url: '/active/cities?country=NI' })).json().redis_cache, 'miss')
  t.equal((await app.inject({ url: '/active/cities?country=NI' })).json().redis_cache, 'hit')
  t.equal((await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Ocotal', active: true } })).statusCode, 201)
  const cities = (await app.inject({ url: '/active/cities?country=NI' })).json()
  t.equal(cities.redis_cache, 'miss', 'a new city invalidates its country\'s list')
  t.ok(cities.cities.some((city: { city: string }) => city.city === 'Ocotal'))

  t.equal((await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Ocotal', headers: AUTH })).statusCode, 204)
  t.equal((await app.inject(get('Ocotal'))).statusCode, 404)
  t.equal((await app.inject(get('Ocotal'))).statusCode, 404, '"not found" is cached and still right')

  // A change made in SQL reaches the cache through its record, applied on the cluster's masters.
  const rivas = (await app.inject(get('Rivas'))).json().active as boolean
  t.equal((await app.inject(get('Rivas'))).json().redis_cache, 'hit')
  const sql = await directSql(t, app)
  await sql.query("UPDATE locations SET active = NOT active WHERE country = 'NI' AND city_key = 'rivas'")
  await until(async () => (await app.inject(get('Rivas'))).json().active === !rivas, 'the SQL edit read through the cluster')
  t.ok(app.availabilityCache.stats.records.deleted > 0, 'its record deleted the cached entry')

  await deleteCacheNamespace(redis, namespace)
  const left = await Promise.all(redis.nodes('master').map(node => node.keys(`${namespace}:*`)))
  t.same(left.flat(), [], 'the namespace is gone from every master')
})

t.test('on a Redis Cluster, a reader that read MySQL before a write cannot cache what it read', async t => {
  let hold: (() => Promise<void>) | undefined
  let arrived!: () => void
  let release!: () => void
  const reached = new Promise<void>(resolve => { arrived = resolve })
  const released = new Promise<void>(resolve => { release = resolve })
  hold = async () => {
    hold = undefined
    arrived()
    await released
  }
  const app = await onCluster(t, { afterDatabaseRead: async () => { await hold?.() } })

  const stalled = app.inject(get('Managua'))
  await reached
  t.equal((await app.inject(put('Managua', false))).statusCode, 200)
  release()
  t.equal((await stalled).json().active, true, 'the reader that started first answers what it read')
  t.same(app.availabilityCache.stats.fills, { stored: 0, refused: 1 }, 'its fill was refused')
  t.same((await app.inject(get('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.same((await app.inject(get('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'hit' })
})

t.test('on a Redis Cluster, randomized readers and writers never read an acknowledged write stale', async t => {
  const app = await onCluster(t, { afterDatabaseRead: () => sleep(Math.random() * 15) })
  const base = await listening(app)
  const initial = new Map([['Managua', true], ['León', false], ['Granada', false], ['Masaya', false]])
  const DECISIVE = 100
  // More rounds of 4 s on a loaded machine, until there are enough reads with one right answer.
  const { reads, failures, violations, decisive, acknowledged } = await runUntilDecisive({
    baseUrls: [base], initial, durationMs: 4000, readers: 24, writers: 8
  }, DECISIVE, 3)
  const { outcomes, fills } = app.availabilityCache.stats
  t.comment(`cluster: ${reads.length} reads against ${acknowledged} acknowledged writes; ${decisive} decisive; outcomes ${JSON.stringify(outcomes)}, fills ${JSON.stringify(fills)}`)
  t.same(failures, [], 'every request succeeded')
  t.same(violations.slice(0, 10), [], `no stale read (${violations.length})`)
  t.ok(decisive >= DECISIVE, 'enough reads had one right answer')
  t.ok(fills.refused > 0, 'writes overtook filling readers: the race was exercised')
})

t.test('a master killed mid-load: its slots are read from MySQL until a replica takes over, and no read is stale', async t => {
  const app = await onCluster(t)
  const base = await listening(app)
  const namespace = app.config.CACHE_NAMESPACE
  const initial = new Map([['Managua', true], ['León', false], ['Granada', false], ['Masaya', false]])
  const victim = await cluster.masterOf(locationKeys(namespace, locationId('NI', 'Managua')).value)
  let failoverMs = 0

  const run = await failoverUnderLoad(base, {
    initial,
    probeCity: 'Managua',
    failover: async () => {
      await cluster.kill(victim)
      failoverMs = (await cluster.waitForFailover(victim)).ms
    }
  })
  const { load } = run
  t.comment(`cluster failover: the cluster healed ${failoverMs.toFixed(0)} ms after the kill; Managua's reads went to MySQL (bypass) for ${run.bypassMs.toFixed(0)} ms; ` +
    `worst request ${run.worstMs.toFixed(0)} ms; ${load.reads.length} reads and ${load.acknowledged} acknowledged writes checked, ${load.violations.length} stale; probe ${JSON.stringify(run.outcomes)}`)

  await checkFailover(t, app, run)

  // The old master comes back as a replica of its successor, and writes wait for it again: while it
  // resyncs a write's invalidation may stay pending, until a retry is confirmed.
  await cluster.restart(victim)
  const next = !(load.lastAcknowledged.get('Managua') as boolean)
  t.equal((await app.inject(put('Managua', next))).statusCode, 200)
  await until(async () => app.availabilityCache.pendingInvalidations === 0, 'the write\'s invalidation confirmed with the returned replica')
  t.equal((await app.inject(get('Managua'))).json().active, next, 'and the cache answers the write')
})
