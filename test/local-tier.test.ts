import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { buildApp } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { locationKeys, invalidationChannel } from '../services/availability/location-keys.ts'
import { createLocalTier } from '../services/cache/local-tier.ts'
import { currentAfter } from '../services/availability/location-entries.ts'
import type { StoredLocation } from '../services/availability/location-store.ts'
import { locationId } from '../domain/location.ts'
import { AUTH, build, cleanUp, isolatedEnv } from './helper.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { until } from './support/until.ts'
import { appMetricSample as metric } from './support/metrics-sample.ts'

// The opt-in in-process tier (CACHE_LOCAL_TTL_MS): answers kept in each instance's memory,
// forgotten on every instance through Redis pub/sub when any of them writes.

t.setTimeout(60_000)

const MANAGUA = '/active?country=NI&city=Managua'

async function read (app: FastifyInstance): Promise<{ active: boolean, redis_cache: string }> {
  const response = await app.inject({ url: MANAGUA })
  if (response.statusCode !== 200) throw new Error(`GET ${MANAGUA} answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

async function setActive (app: FastifyInstance, active: boolean): Promise<void> {
  const response = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active } })
  if (response.statusCode !== 200) throw new Error(`PUT answered ${response.statusCode}: ${response.body}`)
}

/** Two instances sharing one database and one namespace (replicas), the second one's Redis through `redisPort`. */
async function replicas (t: Test, overrides: Record<string, string>, redisPort?: number): Promise<[FastifyInstance, FastifyInstance]> {
  const env = isolatedEnv(overrides)
  const apps: FastifyInstance[] = []
  t.teardown(async () => {
    await Promise.all(apps.map(app => app.close()))
    await cleanUp(env)
  })
  const first = await buildApp({ config: readConfig(env) })
  apps.push(first)
  await first.ready()
  const second = await buildApp({ config: readConfig({ ...env, ...(redisPort === undefined ? {} : { REDIS_PORT: String(redisPort) }) }) })
  apps.push(second)
  await second.ready()
  await until(async () => await metric(first, 'nicaventas_cache_local_subscribed') === 1 && await metric(second, 'nicaventas_cache_local_subscribed') === 1, 'both tiers are subscribed')
  return [first, second]
}

t.test('off by default: no tier, no subscriber connection', async t => {
  const app = await build(t)
  t.equal(app.redisSubscriber, null)
  await read(app)
  await read(app)
  t.equal(await metric(app, 'nicaventas_cache_local_hits_total'), 0)
  t.equal(await metric(app, 'nicaventas_cache_local_subscribed'), 0)
})

t.test('repeated reads are answered from memory, still as a "hit", for at most CACHE_LOCAL_TTL_MS', async t => {
  const ttlMs = 400
  const app = await build(t, { CACHE_LOCAL_TTL_MS: String(ttlMs) })
  await until(async () => await metric(app, 'nicaventas_cache_local_subscribed') === 1, 'the tier is subscribed')
  t.equal((await read(app)).redis_cache, 'miss')
  t.equal((await read(app)).redis_cache, 'hit', 'from Redis, and now kept in memory')
  t.equal(await metric(app, 'nicaventas_cache_local_entries'), 1)

  // Take the value out of Redis behind the service's back: only memory can still answer a hit.
  const redis = new Redis({ host: app.config.REDIS_LOCATION, port: app.config.REDIS_PORT })
  t.teardown(() => redis.quit())
  const started = Date.now()
  await redis.del(locationKeys(app.config.CACHE_NAMESPACE, locationId('NI', 'Managua')).value)
  t.same(await read(app), { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' })
  t.equal(await metric(app, 'nicaventas_cache_local_hits_total'), 1)

  await sleep(ttlMs - (Date.now() - started) + 100)
  t.equal((await read(app)).redis_cache, 'miss', 'past its TTL the entry is gone: MySQL again, as Redis no longer has it')
  t.equal(await metric(app, 'nicaventas_cache_local_hits_total'), 1)
})

t.test('a write on one instance removes the answer from the other\'s memory: the staleness it admits, measured', async t => {
  // A TTL far longer than the test: only the invalidation message can end an entry.
  const [writer, reader] = await replicas(t, { CACHE_LOCAL_TTL_MS: '60000' })
  let active = true
  await read(reader)
  let worstStaleMs = 0
  let localHits = 0
  for (let round = 0; round < 20; round++) {
    // The reader holds the current answer in memory.
    await read(reader)
    const before = await metric(reader, 'nicaventas_cache_local_hits_total')
    t.equal((await read(reader)).active, active)
    localHits += await metric(reader, 'nicaventas_cache_local_hits_total') - before

    active = !active
    // Read as fast as possible while the write is under way; after its acknowledgement, any old answer is staleness.
    let acknowledgedAt: number | undefined
    const write = setActive(writer, active).then(() => { acknowledgedAt = performance.now() })
    let lastOldAfterAck = 0
    for (;;) {
      // A read from memory does no I/O: let the write's (and the message's) I/O run between reads.
      await yieldToIo()
      const answer = await read(reader)
      const now = performance.now()
      if (answer.active === active) break
      if (acknowledgedAt !== undefined) lastOldAfterAck = now - acknowledgedAt
      if (acknowledgedAt !== undefined && now - acknowledgedAt > 5000) throw new Error('the reader kept the old answer for 5 s after the write')
    }
    await write
    worstStaleMs = Math.max(worstStaleMs, lastOldAfterAck)
  }
  t.equal(localHits, 20, 'every round\'s second read came from memory, so an old entry was there to be removed')
  t.comment(`worst staleness over 20 writes: the reader answered the old value up to ${worstStaleMs.toFixed(2)} ms after the write was acknowledged`)
  t.ok(worstStaleMs < 500, `old answers end within 500 ms of the acknowledgement (worst ${worstStaleMs.toFixed(2)} ms)`)
})

t.test('an instance that loses its subscription forgets what it holds and answers from Redis or MySQL until subscribed again', async t => {
  const redisPort = Number(isolatedEnv().REDIS_PORT)
  const proxy = await startTcpProxy(redisPort)
  t.teardown(() => proxy.close())
  const [writer, reader] = await replicas(t, { CACHE_LOCAL_TTL_MS: '60000' }, proxy.port)
  await read(reader)
  await read(reader)
  t.equal((await read(reader)).redis_cache, 'hit')
  t.equal(await metric(reader, 'nicaventas_cache_local_entries'), 1, 'the reader holds Managua as active')

  await proxy.cut()
  await until(async () => await metric(reader, 'nicaventas_cache_local_subscribed') === 0, 'the reader notices')
  t.equal(await metric(reader, 'nicaventas_cache_local_entries'), 0, 'cleared')
  // This write's message cannot reach the reader.
  await setActive(writer, false)
  t.same(await read(reader), { active: false, country: 'NI', city: 'Managua', redis_cache: 'bypass' }, 'not the old answer from memory')

  await proxy.restore()
  await until(async () => await metric(reader, 'nicaventas_cache_local_subscribed') === 1, 'the reader is subscribed again')
  const hitsBefore = await metric(reader, 'nicaventas_cache_local_hits_total')
  t.equal((await read(reader)).active, false)
  t.equal((await read(reader)).active, false)
  t.equal((await read(reader)).active, false)
  t.ok(await metric(reader, 'nicaventas_cache_local_hits_total') > hitsBefore, 'and uses its memory again')
})

t.test('CACHE_LOCAL_MAX_ENTRIES bounds what the tier holds', async t => {
  const app = await build(t, { CACHE_LOCAL_TTL_MS: '60000', CACHE_LOCAL_MAX_ENTRIES: '2' })
  await until(async () => await metric(app, 'nicaventas_cache_local_subscribed') === 1, 'the tier is subscribed')
  for (const city of ['Managua', 'León', 'Granada', 'Masaya']) {
    for (let read = 0; read < 2; read++) await app.inject({ url: `/active?country=NI&city=${encodeURIComponent(city)}` })
  }
  t.equal(await metric(app, 'nicaventas_cache_local_entries'), 2)
})

t.test('an answer read before an invalidation arrived is not kept: its message may have overtaken the GET\'s reply', async t => {
  const env = isolatedEnv()
  const subscriber = new Redis({ host: env.REDIS_LOCATION, port: Number(env.REDIS_PORT) })
  const publisher = new Redis({ host: env.REDIS_LOCATION, port: Number(env.REDIS_PORT) })
  t.teardown(() => Promise.all([subscriber.quit(), publisher.quit()]))
  const channel = invalidationChannel(env.CACHE_NAMESPACE as string)
  const tier = createLocalTier<StoredLocation>(subscriber, { channel, ttlMs: 60_000, maxEntries: 10, log: Fastify({ logger: false }).log })
  t.teardown(() => tier.close())
  await until(async () => tier.subscribed, 'subscribed')
  const managua = { active: true, country: 'NI', city: 'Managua', version: 3 }

  const readAt = tier.epoch
  await publisher.publish(channel, 'NI:leon')
  await until(async () => tier.epoch !== readAt, 'the message arrived')
  tier.set('NI:managua', managua, readAt)
  t.equal(tier.get('NI:managua'), undefined, 'any invalidation in between refuses the fill')

  tier.set('NI:managua', managua, tier.epoch)
  t.same(tier.get('NI:managua'), { value: managua })
  await publisher.publish(channel, 'NI:managua')
  await until(async () => tier.get('NI:managua') === undefined, 'the message arrived')
  t.equal(tier.size, 0)

  // What the record sync asks: forget only what is older than the recorded change.
  tier.set('NI:managua', managua, tier.epoch)
  tier.set('NI:gone', undefined, tier.epoch)
  tier.forgetUnless('NI:managua', currentAfter(3, false))
  tier.forgetUnless('NI:gone', currentAfter(5, true))
  tier.forgetUnless('NI:absent', currentAfter(5, true))
  t.same(tier.get('NI:managua'), { value: managua }, 'an entry at the recorded version stays')
  t.same(tier.get('NI:gone'), { value: undefined }, 'a kept "not found" stays after a delete')
  tier.forgetUnless('NI:managua', currentAfter(4, false))
  tier.forgetUnless('NI:gone', currentAfter(6, false))
  t.equal(tier.size, 0, 'older entries, and a "not found" after a create, are forgotten')

  tier.close()
  t.notOk(tier.subscribed)
  tier.set('NI:managua', managua, tier.epoch)
  t.equal(tier.get('NI:managua'), undefined, 'a closed tier keeps nothing')
})
