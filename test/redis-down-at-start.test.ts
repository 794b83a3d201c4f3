import t from 'tap'
import { AUTH, build } from './helper.ts'
import { freePort } from './support/port-free.ts'
import { appMetricSample as metric } from './support/metrics-sample.ts'
import { startRedisServer } from './support/redis-server.ts'
import { until } from './support/until.ts'

t.test('with Redis unreachable from the start, the service starts, serves from MySQL and says it is degraded', async t => {
  const nothingListens = await freePort()
  const started = Date.now()
  const app = await build(t, { REDIS_PORT: String(nothingListens) })
  t.ok(Date.now() - started < 10_000, 'start-up does not wait for Redis')

  const read = await app.inject({ url: '/active?country=NI&city=Managua' })
  t.equal(read.statusCode, 200)
  t.same(read.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'bypass' })

  const write = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active: false } })
  t.equal(write.statusCode, 200, 'writes still commit')
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).json().active, false)

  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', mysql: 'ok', redis: 'degraded' })
})

t.test('with the local tier on and Redis down at start, the tier waits unsubscribed, then comes into use with Redis', async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.kill())
  await redis.kill()
  const app = await build(t, { REDIS_PORT: String(redis.port), CACHE_LOCAL_TTL_MS: '60000' })
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).json().redis_cache, 'bypass')
  t.equal(await metric(app, 'nicaventas_cache_local_subscribed'), 0, 'nothing to subscribe to yet')

  await redis.start()
  await until(async () => await metric(app, 'nicaventas_cache_local_subscribed') === 1, 'the tier subscribes once Redis is up')
  const outcomes = []
  for (let read = 0; read < 3; read++) outcomes.push((await app.inject({ url: '/active?country=NI&city=Managua' })).json().redis_cache)
  t.same(outcomes, ['miss', 'hit', 'hit'])
  t.equal(await metric(app, 'nicaventas_cache_local_hits_total'), 1, 'the third read came from memory')
})
