import { Redis } from 'ioredis'
import t from 'tap'
import { locationKeys } from '../services/availability/location-keys.ts'
import { locationId } from '../domain/location.ts'
import { AUTH, build } from './helper.ts'

const get = (city: string) => ({ method: 'GET' as const, url: `/active?country=NI&city=${city}` })

t.test('200 concurrent reads of one cold location make one MySQL query', async t => {
  const app = await build(t)
  const before = app.availabilityStore.queryCount
  const responses = await Promise.all(Array.from({ length: 200 }, () => app.inject(get('Granada'))))
  t.equal(app.availabilityStore.queryCount - before, 1, 'one query')
  t.same(new Set(responses.map(response => response.statusCode)), new Set([200]))
  t.same(new Set(responses.map(response => response.json().active)), new Set([false]))
  t.same(app.availabilityCache.stats.fills, { stored: 1, refused: 0 })
  t.equal((await app.inject(get('Granada'))).json().redis_cache, 'hit')
})

t.test('a read that starts after a write is acknowledged does not join a flight that started before it', async t => {
  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  let reached!: () => void
  const arrived = new Promise<void>(resolve => { reached = resolve })
  let first = true
  const app = await build(t, {}, {
    async afterDatabaseRead () {
      if (!first) return
      first = false
      reached()
      await released
    }
  })

  const early = app.inject(get('Masaya'))
  await arrived
  const write = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Masaya', active: true } })
  t.equal(write.statusCode, 200)

  const before = app.availabilityStore.queryCount
  const late = await app.inject(get('Masaya'))
  t.same(late.json(), { active: true, country: 'NI', city: 'Masaya', redis_cache: 'miss' }, 'answers the write, while the earlier flight is still stalled')
  t.equal(app.availabilityStore.queryCount - before, 1, 'with a query of its own')

  release()
  t.equal((await early).json().active, false, 'the stalled read, which started before the write, answers the old row')
  t.same((await app.inject(get('Masaya'))).json(), { active: true, country: 'NI', city: 'Masaya', redis_cache: 'hit' })
})

t.test('an unknown location is cached as unknown until it is created', async t => {
  const app = await build(t)
  const before = app.availabilityStore.queryCount
  t.equal((await app.inject(get('Chinandega'))).statusCode, 404)
  t.equal(app.availabilityStore.queryCount - before, 1, 'the first read asks MySQL')
  const flood = await Promise.all(Array.from({ length: 50 }, () => app.inject(get('Chinandega'))))
  t.same(new Set(flood.map(response => response.statusCode)), new Set([404]))
  t.equal(app.availabilityStore.queryCount - before, 1, 'later reads do not')

  const created = await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Chinandega', active: true } })
  t.equal(created.statusCode, 201)
  t.same((await app.inject(get('Chinandega'))).json(), { active: true, country: 'NI', city: 'Chinandega', redis_cache: 'miss' }, 'found at once after the POST')
})

t.test('a cached "not found" expires after CACHE_NEGATIVE_TTL_SECONDS', async t => {
  const app = await build(t, { CACHE_NEGATIVE_TTL_SECONDS: '1' })
  t.equal((await app.inject(get('Jinotega'))).statusCode, 404)
  // Created behind the service's back, as another instance's POST would be if its invalidation were lost.
  await app.mysql.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Jinotega', 'jinotega', 1)")
  t.equal((await app.inject(get('Jinotega'))).statusCode, 404, 'still cached as unknown')
  await new Promise(resolve => setTimeout(resolve, 1100))
  t.equal((await app.inject(get('Jinotega'))).json().redis_cache, 'miss', 'asked MySQL again after the negative TTL')
})

t.test('a reader in another instance waits for the lease holder\'s fill instead of querying MySQL', async t => {
  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  let reached!: () => void
  const arrived = new Promise<void>(resolve => { reached = resolve })
  const holder = await build(t, {}, {
    async afterDatabaseRead () {
      reached()
      await released
    }
  })
  // Same database and namespace: a second instance of the same service.
  const other = await build(t, { DATABASE_NAME: holder.config.DATABASE_NAME, CACHE_NAMESPACE: holder.config.CACHE_NAMESPACE })

  const filling = holder.inject(get('Granada'))
  await arrived
  const before = other.availabilityStore.queryCount
  let settled = false
  const waiting = other.inject(get('Granada')).finally(() => { settled = true })
  await new Promise(resolve => setTimeout(resolve, 200))
  t.notOk(settled, 'still waiting while the holder has not filled')
  release()
  t.same((await waiting).json(), { active: false, country: 'NI', city: 'Granada', redis_cache: 'hit' }, 'answered from the holder\'s fill')
  t.equal(other.availabilityStore.queryCount - before, 0, 'without a query of its own')
  t.equal((await filling).json().redis_cache, 'miss')
})

t.test('a lease whose holder never fills delays other readers by the lease time at most', async t => {
  const app = await build(t, { DATABASE_TIMEOUT_MS: '500' })
  const redis = new Redis({ host: app.config.REDIS_LOCATION, port: app.config.REDIS_PORT })
  t.teardown(() => redis.quit())
  // As a reader in an instance that crashed after taking the lease would leave it.
  await redis.set(locationKeys(app.config.CACHE_NAMESPACE, locationId('NI', 'Rivas')).lease, 'crashed-reader', 'PX', 60_000)

  const started = performance.now()
  const response = await app.inject(get('Rivas'))
  const waitedMs = performance.now() - started
  t.same(response.json(), { active: false, country: 'NI', city: 'Rivas', redis_cache: 'miss' })
  t.comment(`waited ${waitedMs.toFixed(0)} ms for a lease of 1500 ms`)
  t.ok(waitedMs >= 1400 && waitedMs < 5000, 'gave up waiting after the lease time, then read MySQL')
})
