import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { AUTH, build } from './helper.ts'
import { checkFailover, failoverUnderLoad } from './support/failover-load.ts'
import { infoField, redisCall } from './support/redis-process.ts'
import { startSentinelGroup, type SentinelGroup } from './support/redis-sentinel.ts'
import { until } from './support/until.ts'

// The service on a Sentinel-managed primary with one replica and three Sentinels, started by
// this file on free ports (support/redis-sentinel.ts): the contract, the local tier across a
// failover, and the primary killed while readers and writers run.

t.setTimeout(180_000)

let group: SentinelGroup
t.before(async () => { group = await startSentinelGroup() })
t.teardown(() => group.stop())

const onSentinels = (t: Test, overrides: Record<string, string> = {}) =>
  build(t, { REDIS_SENTINELS: group.sentinels, REDIS_SENTINEL_NAME: group.name, REDIS_DB: '3', ...overrides })

async function listening (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const get = (city: string) => ({ url: `/active?country=NI&city=${encodeURIComponent(city)}` })
const put = (city: string, active: boolean) => ({ method: 'PUT' as const, url: '/active', headers: AUTH, payload: { country: 'NI', city, active } })

t.test('behind Sentinels, reads, writes and lists keep their contract, in the database REDIS_DB names', async t => {
  const app = await onSentinels(t)
  t.same((await app.inject(get('Managua'))).json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.same((await app.inject(get('Managua'))).json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' })
  t.equal((await app.inject(put('Managua', false))).statusCode, 200)
  t.equal(app.availabilityCache.stats.invalidations.done, 1, 'the invalidation counted as done')
  t.match(String(await redisCall(await group.primaryPort(), 'INFO', 'commandstats')), /cmdstat_wait:calls=[1-9]/, 'after WAIT for the replica')
  t.same((await app.inject(get('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.equal((await app.inject({ url: '/active/cities?country=NI' })).json().redis_cache, 'miss')
  t.equal((await app.inject({ url: '/active/cities?country=NI' })).json().redis_cache, 'hit')

  const primary = new Redis({ host: '127.0.0.1', port: await group.primaryPort(), lazyConnect: true })
  t.teardown(() => primary.quit())
  await primary.connect()
  t.equal(await primary.dbsize(), 0, 'database 0 holds none of it')
  await primary.select(3)
  t.ok(await primary.dbsize() > 0, 'database 3 holds the entries')
})

t.test('a replica too slow to confirm an invalidation: the write is acknowledged, and its invalidation pending until the replica holds it', async t => {
  // A command timeout well above WAIT's (half of it), so the WAIT itself answers "too few", however loaded the machine.
  const app = await onSentinels(t, { REDIS_TIMEOUT_MS: '2000' })
  const primary = await group.primaryPort()
  const replica = group.dataPorts.find(port => port !== primary) as number
  const pid = Number(infoField(String(await redisCall(replica, 'INFO', 'server')), 'process_id'))
  t.equal((await app.inject(get('Granada'))).json().redis_cache, 'miss')

  // A frozen replica keeps its connection: the primary still counts it, and WAIT waits for it in vain.
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { process.kill(pid, 'SIGCONT') })
  t.equal((await app.inject(put('Granada', true))).statusCode, 200, 'the write is acknowledged')
  t.equal(app.availabilityCache.pendingInvalidations, 1, 'its invalidation is owed to a replica, so it is pending')
  t.same((await app.inject(get('Granada'))).json(), { active: true, country: 'NI', city: 'Granada', redis_cache: 'bypass' }, 'meanwhile this instance reads it from MySQL')

  process.kill(pid, 'SIGCONT')
  await until(async () => app.availabilityCache.pendingInvalidations === 0, 'the retry confirmed once the replica answers')
  t.equal((await app.inject(get('Granada'))).json().redis_cache, 'miss')
  t.same((await app.inject(get('Granada'))).json(), { active: true, country: 'NI', city: 'Granada', redis_cache: 'hit' })
})

t.test('the primary killed mid-load: reads go to MySQL until the Sentinels promote the replica, and no read is stale', async t => {
  // The local tier too: its subscription drops with the primary and comes back on the new one.
  const app = await onSentinels(t, { CACHE_LOCAL_TTL_MS: '1000' })
  const base = await listening(app)
  const initial = new Map([['Managua', true], ['León', false], ['Granada', false], ['Masaya', false]])
  const victim = await group.primaryPort()
  let failoverMs = 0

  const run = await failoverUnderLoad(base, {
    initial,
    probeCity: 'Managua',
    failover: async () => {
      await group.kill(victim)
      failoverMs = (await group.waitForNewPrimary(victim)).ms
    }
  })
  const { load } = run
  t.comment(`sentinel failover: the Sentinels promoted the replica ${failoverMs.toFixed(0)} ms after the kill; reads went to MySQL (bypass) for ${run.bypassMs.toFixed(0)} ms; ` +
    `worst request ${run.worstMs.toFixed(0)} ms; ${load.reads.length} reads and ${load.acknowledged} acknowledged writes checked, ${load.violations.length} stale; probe ${JSON.stringify(run.outcomes)}`)

  await checkFailover(t, app, run)
  await until(async () => app.availabilityCache.localTier?.subscribed === true, 'the local tier subscribed on the new primary')
  // The new primary has no replica until the old one comes back: writes do not wait for one that is not there.
  const done = app.availabilityCache.stats.invalidations.done
  t.equal((await app.inject(put('Managua', !(load.lastAcknowledged.get('Managua') as boolean)))).statusCode, 200)
  t.equal(app.availabilityCache.stats.invalidations.done, done + 1, 'a write on a primary left without replicas is invalidated at once')
  t.equal(app.availabilityCache.pendingInvalidations, 0, 'not left pending for a replica that is not there')
})
