import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { build } from './helper.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { timedClient } from './support/timed-client.ts'

// With DATABASE_TIMEOUT_MS at 500 and DATABASE_WRITE_TIMEOUT_MS at 1000, a request that cannot reach MySQL gives up well within this.
const BOUND_MS = 2000
const unavailable = (message: string) => ({ statusCode: 503, error: 'Service Unavailable', message })
const UNAVAILABLE = unavailable('Database unavailable; try again in a few seconds')
const READ_UNANSWERED = unavailable('MySQL did not answer within 500 ms; try again in a few seconds')
const WRITE_UNANSWERED = unavailable('MySQL did not answer within 1000 ms; a write may or may not have been applied, read it back before retrying')

/** An app whose MySQL is reached through a proxy the test can cut, listening on a real socket. */
async function appBehindProxy (t: Test, overrides: Record<string, string> = {}) {
  const proxy = await startTcpProxy(Number(process.env.DATABASE_PORT ?? 3306))
  t.teardown(() => proxy.close())
  const app = await build(t, { DATABASE_PORT: String(proxy.port), DATABASE_TIMEOUT_MS: '500', DATABASE_WRITE_TIMEOUT_MS: '1000', ...overrides })
  // Runs before the app's own teardown, which drops its database through the proxy.
  t.teardown(() => proxy.restore())
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, proxy, client: timedClient(baseUrl), baseUrl }
}

async function readiness (baseUrl: string) {
  const response = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(15_000) })
  return { status: response.status, body: await response.json() }
}

async function outage (t: Test, how: 'cut' | 'blackhole') {
  const { proxy, client, baseUrl } = await appBehindProxy(t)
  await client.get('NI', 'Managua')
  t.equal((await client.get('NI', 'Managua')).body?.redis_cache, 'hit')

  if (how === 'cut') await proxy.cut()
  else proxy.blackhole()
  client.resetWorst()
  const started = performance.now()
  t.same((await client.get('NI', 'Managua')).body, { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' }, 'a cached location is still served')
  const miss = await client.get('NI', 'Granada')
  t.equal(miss.status, 503, 'a miss is 503')
  t.same(miss.body, how === 'cut' ? UNAVAILABLE : READ_UNANSWERED, 'in Fastify\'s error shape, without driver text')
  const write = await client.put('NI', 'Granada', true)
  // Sent to a MySQL that went silent, a write may have committed: the answer says so.
  t.same([write.status, write.body], [503, how === 'cut' ? UNAVAILABLE : WRITE_UNANSWERED], 'a write is 503 too')
  t.same(await readiness(baseUrl), { status: 503, body: { status: 'unavailable', mysql: 'unreachable', redis: 'ok' } })
  // A burst, as clients retrying would send: none may wait for another's timeout.
  const burst = await Promise.all(Array.from({ length: 20 }, () => client.get('NI', 'Masaya')))
  t.same(new Set(burst.map(response => response.status)), new Set([503]))
  // One miss after another: each must get a connection that can still time out.
  const misses = []
  for (const city of ['Rivas', 'León', 'Managua', 'Masaya', 'Granada']) {
    misses.push((await client.put('NI', city, true)).status)
    misses.push((await client.get('NI', city === 'Managua' ? 'Ocotal' : city)).status)
  }
  t.same(new Set(misses), new Set([503]), 'every later miss and write is a 503 too')
  t.same((await readiness(baseUrl)).status, 503)
  t.comment(`MySQL ${how === 'cut' ? 'cut off' : 'not answering'}: worst response ${client.worstMs.toFixed(1)} ms over ${(performance.now() - started).toFixed(0)} ms of outage`)
  t.ok(client.worstMs < BOUND_MS, `every answer within ${BOUND_MS} ms`)

  await proxy.restore()
  t.same(await readiness(baseUrl), { status: 200, body: { status: 'ready', mysql: 'ok', redis: 'ok' } })
  t.same((await client.get('NI', 'Granada')).body, { active: false, country: 'NI', city: 'Granada', redis_cache: 'miss' })
  t.same((await client.get('NI', 'Granada')).body, { active: false, country: 'NI', city: 'Granada', redis_cache: 'hit' })
  t.equal((await client.put('NI', 'Granada', true)).status, 200)
  t.equal((await client.get('NI', 'Granada')).body?.active, true)
}

t.test('MySQL cut off: hits are served, misses and writes are quick 503s, /ready is 503; restored: back to normal', t => outage(t, 'cut'))

t.test('MySQL not answering: the same, within the query timeout', t => outage(t, 'blackhole'))

t.test('MySQL cut off past the TTL: the last known value is served as stale, then refreshed once MySQL is back', async t => {
  const { proxy, client } = await appBehindProxy(t, { CACHE_TTL_SECONDS: '1', CACHE_GRACE_SECONDS: '3600' })
  await client.get('NI', 'Managua')
  await client.get('NI', 'León')

  await proxy.cut()
  // Past CACHE_TTL_SECONDS, within CACHE_GRACE_SECONDS.
  await sleep(1100)
  client.resetWorst()
  t.same((await client.get('NI', 'Managua')).body, { active: true, country: 'NI', city: 'Managua', redis_cache: 'stale' })
  t.same((await client.get('NI', 'León')).body, { active: false, country: 'NI', city: 'León', redis_cache: 'stale' })
  t.equal((await client.get('NI', 'Granada')).status, 503, 'nothing known about Granada: 503')
  t.comment(`MySQL cut off, entries past their TTL: worst response ${client.worstMs.toFixed(1)} ms`)
  t.ok(client.worstMs < BOUND_MS, `every answer within ${BOUND_MS} ms`)

  await proxy.restore()
  t.same((await client.get('NI', 'Managua')).body, { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.same((await client.get('NI', 'Managua')).body, { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' })
})

t.test('MySQL stops answering a write: given up with its connection after DATABASE_WRITE_TIMEOUT_MS, its outcome said to be unknown', async t => {
  const { app, proxy, client } = await appBehindProxy(t, { DATABASE_POOL_SIZE: '1' })
  t.equal((await client.get('NI', 'Granada')).status, 200)
  proxy.blackhole()
  client.resetWorst()
  const write = await client.put('NI', 'Granada', true)
  t.equal(write.status, 503)
  t.same(write.body, WRITE_UNANSWERED)
  t.ok(write.ms >= 1000, `the write waited for its answer as long as its budget allows (${write.ms.toFixed(0)} ms)`)
  t.same((await client.get('NI', 'Masaya')).body, READ_UNANSWERED, 'and the pool is not left holding the stuck connection')
  t.comment(`MySQL not answering a write: worst response ${client.worstMs.toFixed(1)} ms`)
  t.ok(client.worstMs < BOUND_MS, `within ${BOUND_MS} ms`)
  await proxy.restore()
  t.equal((await client.get('NI', 'Masaya')).status, 200, 'served again once MySQL answers')
  t.equal(app.availabilityCache.pendingInvalidations, 0)
})

t.test('all pooled connections busy: a request that cannot get one in time is a 503, and the late connection is not used', async t => {
  const { app, client } = await appBehindProxy(t, { DATABASE_POOL_SIZE: '1' })
  const held = await app.mysql.getConnection()
  const waiting = client.put('NI', 'Rivas', true)
  t.same((await waiting).body, unavailable('MySQL did not take the write within 1000 ms; it was not applied, try again in a few seconds'))
  held.release()
  // The connection the PUT was queued for arrives now; it must not run the UPDATE after the 503.
  await sleep(200)
  t.same((await client.get('NI', 'Rivas')).body, { active: false, country: 'NI', city: 'Rivas', redis_cache: 'miss' })
})
