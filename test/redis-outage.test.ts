import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { AppOptions } from '../app.ts'
import { locationKeys } from '../services/availability/location-keys.ts'
import { locationId } from '../domain/location.ts'
import { build } from './helper.ts'
import { startRedisServer, type RedisServer } from './support/redis-server.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { timedClient } from './support/timed-client.ts'

// Every request during an outage must be answered within this; the Redis command timeout is 250 ms.
const BOUND_MS = 2000

type Client = ReturnType<typeof timedClient>

/** An app on a redis-server of the test's own (reached through `port`), listening on a real socket. */
async function appOn (
  t: Test,
  redisServer: RedisServer,
  { port = redisServer.port, options = {} }: { port?: number, options?: Omit<AppOptions, 'config'> } = {}
): Promise<{ app: FastifyInstance, client: Client }> {
  t.teardown(() => redisServer.kill())
  const app = await build(t, { REDIS_PORT: String(port) }, options)
  // Runs before the app's own teardown, which needs Redis to clean its keys up.
  t.teardown(async () => {
    redisServer.thaw()
    await redisServer.start()
  })
  return { app, client: timedClient(await app.listen({ port: 0, host: '127.0.0.1' })) }
}

async function drained (app: FastifyInstance, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (app.availabilityCache.pendingInvalidations > 0) {
    if (Date.now() > deadline) return false
    await sleep(20)
  }
  return true
}

t.test('Redis killed: reads answer from MySQL in bounded time, writes succeed; restarted: reads see every write', async t => {
  const redisServer = await startRedisServer()
  const { app, client } = await appOn(t, redisServer)
  t.equal((await client.get('NI', 'Managua')).body?.redis_cache, 'miss')
  t.equal((await client.get('NI', 'Managua')).body?.redis_cache, 'hit')
  t.equal((await client.get('NI', 'León')).body?.redis_cache, 'miss')

  await redisServer.kill()
  client.resetWorst()
  t.same((await client.get('NI', 'Managua')).body, { active: true, country: 'NI', city: 'Managua', redis_cache: 'bypass' })
  t.equal((await client.put('NI', 'Managua', false)).status, 200)
  t.equal((await client.post('NI', 'Chinandega', true)).status, 201)
  t.equal((await client.delete('NI', 'León')).status, 204)
  t.equal(app.availabilityCache.pendingInvalidations, 3, 'three invalidations wait for Redis')
  // Long enough for several reconnection attempts to fail under the requests.
  const outageEnds = Date.now() + 1500
  const statuses = new Set<string>()
  while (Date.now() < outageEnds) {
    for (const city of ['Managua', 'Chinandega', 'León', 'Granada']) {
      const { status, body } = await client.get('NI', city)
      statuses.add(`${city} ${status} ${body?.active ?? ''} ${body?.redis_cache ?? ''}`)
    }
  }
  t.same([...statuses].sort(), ['Chinandega 200 true bypass', 'Granada 200 false bypass', 'León 404  ', 'Managua 200 false bypass'])
  const ready = await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/ready`)
  t.same({ status: ready.status, body: await ready.json() }, { status: 200, body: { status: 'ready', mysql: 'ok', redis: 'degraded' } })
  t.comment(`Redis killed: worst response ${client.worstMs.toFixed(1)} ms`)
  t.ok(client.worstMs < BOUND_MS, `every answer within ${BOUND_MS} ms`)

  await redisServer.start()
  t.ok(await drained(app), 'the pending invalidations reach Redis once it is back')
  t.same((await client.get('NI', 'Managua')).body, { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.same((await client.get('NI', 'Managua')).body, { active: false, country: 'NI', city: 'Managua', redis_cache: 'hit' })
  t.equal((await client.get('NI', 'Chinandega')).body?.active, true)
  t.equal((await client.get('NI', 'León')).status, 404)
})

t.test('Redis cut off with its data kept: an entry cached before the outage and written during it never comes back', async t => {
  const redisServer = await startRedisServer()
  const proxy = await startTcpProxy(redisServer.port)
  t.teardown(() => proxy.close())
  const { app, client } = await appOn(t, redisServer, { port: proxy.port })
  t.teardown(() => proxy.restore())
  await client.get('NI', 'Managua')
  t.equal((await client.get('NI', 'Managua')).body?.redis_cache, 'hit', 'Managua is cached as active')

  await proxy.cut()
  client.resetWorst()
  t.equal((await client.put('NI', 'Managua', false)).status, 200)
  t.equal(app.availabilityCache.pendingInvalidations, 1)
  const direct = new Redis({ port: redisServer.port, lazyConnect: true })
  t.teardown(() => direct.disconnect())
  const entry = locationKeys(app.config.CACHE_NAMESPACE, locationId('NI', 'Managua')).value
  t.match(await direct.get(entry), /"active":true/, 'the old entry is still in Redis')
  // Long enough for the client's reconnection backoff to grow.
  const outageEnds = Date.now() + 1500
  const duringOutage = new Set<string>()
  while (Date.now() < outageEnds) {
    const { body } = await client.get('NI', 'Managua')
    duringOutage.add(`${body?.active} ${body?.redis_cache}`)
  }
  t.same([...duringOutage], ['false bypass'])
  t.comment(`Redis cut off: worst response ${client.worstMs.toFixed(1)} ms`)
  t.ok(client.worstMs < BOUND_MS, `every answer within ${BOUND_MS} ms`)

  await proxy.restore()
  // Read all the time while the client reconnects and the invalidation is retried.
  const answers = new Set<string>()
  const deadline = Date.now() + 10_000
  let after = 0
  while (after < 20 && Date.now() < deadline) {
    const { body } = await client.get('NI', 'Managua')
    answers.add(`${body?.active} ${body?.redis_cache}`)
    if (app.availabilityCache.pendingInvalidations === 0) after++
  }
  t.equal(app.availabilityCache.pendingInvalidations, 0, 'the invalidation reached Redis')
  t.notOk(answers.has('true hit'), 'the entry from before the outage was never served')
  t.ok(answers.has('false hit'), 'the cache serves again')
  // Version 2: the demo data's insert, then the PUT.
  t.equal(await direct.get(entry), JSON.stringify({ country: 'NI', city: 'Managua', active: false, version: 2 }))
})

t.test('Redis frozen: every request waits at most the command timeout, and nothing stale is served after', async t => {
  const redisServer = await startRedisServer()
  const { app, client } = await appOn(t, redisServer)
  await client.get('NI', 'Granada')
  t.equal((await client.get('NI', 'Granada')).body?.redis_cache, 'hit')

  redisServer.freeze()
  client.resetWorst()
  t.same((await client.get('NI', 'Masaya')).body, { active: false, country: 'NI', city: 'Masaya', redis_cache: 'bypass' })
  t.equal((await client.put('NI', 'Granada', true)).status, 200)
  t.equal(app.availabilityCache.pendingInvalidations, 1)
  t.same((await client.get('NI', 'Granada')).body, { active: true, country: 'NI', city: 'Granada', redis_cache: 'bypass' })
  t.comment(`Redis frozen: worst response ${client.worstMs.toFixed(1)} ms`)
  t.ok(client.worstMs < BOUND_MS, `every answer within ${BOUND_MS} ms`)

  redisServer.thaw()
  t.ok(await drained(app), 'the pending invalidation reaches Redis once it answers')
  t.equal((await client.get('NI', 'Granada')).body?.active, true)
  t.same((await client.get('NI', 'Granada')).body, { active: true, country: 'NI', city: 'Granada', redis_cache: 'hit' })
})

t.test('Redis down at start-up: the service starts, answers from MySQL, and uses Redis once it is up', async t => {
  const redisServer = await startRedisServer()
  await redisServer.kill()
  const { client } = await appOn(t, redisServer)
  t.equal((await client.get('NI', 'Managua')).body?.redis_cache, 'bypass')

  await redisServer.start()
  const deadline = Date.now() + 10_000
  let outcome: unknown
  while (outcome !== 'hit' && Date.now() < deadline) {
    outcome = (await client.get('NI', 'Managua')).body?.redis_cache
    await sleep(50)
  }
  t.equal(outcome, 'hit')
})

t.test('closing while Redis is down neither fails nor waits', async t => {
  const redisServer = await startRedisServer()
  const { app, client } = await appOn(t, redisServer)
  await redisServer.kill()
  t.equal((await client.put('NI', 'Managua', false)).status, 200)
  t.equal(app.availabilityCache.pendingInvalidations, 1)

  const started = performance.now()
  await t.resolves(app.close(), 'the app closes')
  t.ok(performance.now() - started < BOUND_MS, `within ${BOUND_MS} ms`)
  t.equal(app.availabilityCache.pendingInvalidations, 1, 'the last attempt could not reach Redis either')
})

t.test('Redis lost between a reader\'s MySQL read and its fill: the reader still answers', async t => {
  const redisServer = await startRedisServer()
  const { app, client } = await appOn(t, redisServer, { options: { afterDatabaseRead: () => redisServer.kill() } })
  t.same((await client.get('NI', 'Managua')).body, { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.same(app.availabilityCache.stats.fills, { stored: 0, refused: 0 }, 'nothing was filled')
})

t.test('Redis pausing writes (as during a failover): reads still answer from MySQL in time, writes still commit, nothing stale after', async t => {
  const redisServer = await startRedisServer()
  const { app, client } = await appOn(t, redisServer)
  const direct = new Redis({ port: redisServer.port })
  t.teardown(() => direct.quit())
  t.equal((await client.get('NI', 'Granada')).body?.redis_cache, 'miss')
  t.equal((await client.get('NI', 'Granada')).body?.redis_cache, 'hit')

  // Reads (a plain GET) go on; the lease script and every delete wait for the pause to end.
  await direct.client('PAUSE', 3000, 'WRITE')
  client.resetWorst()
  const cold = await client.get('NI', 'Masaya')
  t.same(cold.body, { active: false, country: 'NI', city: 'Masaya', redis_cache: 'bypass' }, 'a miss cannot take the lease: answered from MySQL')
  t.equal((await client.put('NI', 'Granada', true)).status, 200, 'the write commits')
  t.equal(app.availabilityCache.pendingInvalidations, 1, 'its invalidation waits for Redis')
  t.same((await client.get('NI', 'Granada')).body, { active: true, country: 'NI', city: 'Granada', redis_cache: 'bypass' }, 'the written location is read from MySQL')
  t.comment(`Redis pausing writes: worst response ${client.worstMs.toFixed(1)} ms`)
  t.ok(client.worstMs < BOUND_MS, `every answer within ${BOUND_MS} ms`)

  await direct.client('UNPAUSE')
  t.ok(await drained(app), 'the invalidation reaches Redis after the pause')
  t.same((await client.get('NI', 'Granada')).body, { active: true, country: 'NI', city: 'Granada', redis_cache: 'miss' })
})
