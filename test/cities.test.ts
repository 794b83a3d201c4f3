import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import type { AppOptions } from '../app.ts'
import { countryKeys } from '../services/availability/location-keys.ts'
import { AUTH, build } from './helper.ts'
import { startRedisServer } from './support/redis-server.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { until } from './support/until.ts'

// Every answer during an outage must come within this; the Redis command timeout is 250 ms, the MySQL read budget 500 ms.
const BOUND_MS = 2000

const list = (query: string) => ({ method: 'GET' as const, url: `/active/cities?${query}` })
const write = (method: 'PUT' | 'POST', country: string, city: string, active: boolean) =>
  ({ method, url: '/active', headers: AUTH, payload: { country, city, active } })
const remove = (country: string, city: string) =>
  ({ method: 'DELETE' as const, url: `/active?country=${country}&city=${encodeURIComponent(city)}`, headers: AUTH })

// The demo data's cities of Nicaragua, sorted by city key.
const NI_CITIES = [
  { city: 'Granada', active: false },
  { city: 'León', active: false },
  { city: 'Managua', active: true },
  { city: 'Masaya', active: false },
  { city: 'Rivas', active: false }
]
const withActive = (city: string, active: boolean) => NI_CITIES.map(entry => entry.city === city ? { city, active } : entry)

/** What a client sees of one list request, and how long it took. */
async function readList (app: FastifyInstance, query = 'country=NI') {
  const started = performance.now()
  const response = await app.inject(list(query))
  return { status: response.statusCode, body: response.json(), etag: response.headers.etag, ms: performance.now() - started }
}

/** A gate for afterDatabaseRead: the first reader of `entry` to reach it waits there until released. */
function readerGate (entry: string) {
  let reached!: () => void
  let release!: () => void
  const arrived = new Promise<void>(resolve => { reached = resolve })
  const released = new Promise<void>(resolve => { release = resolve })
  let used = false
  const options: Omit<AppOptions, 'config'> = {
    async afterDatabaseRead (name) {
      if (name !== entry || used) return
      used = true
      reached()
      await released
    }
  }
  return { arrived, release, options }
}

t.test('a country\'s cities, sorted by city key, with the stored spelling and flag', async t => {
  const app = await build(t)
  const first = await readList(app)
  t.equal(first.status, 200)
  t.same(first.body, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'miss' })

  // Lower case and accents sort by the folded key, not by code point: "chinandega" first, "Ñandaime" between Masaya and Rivas.
  for (const city of ['Ñandaime', 'chinandega']) t.equal((await app.inject(write('POST', 'NI', city, true))).statusCode, 201, city)
  t.same((await readList(app, 'country=ni')).body, {
    country: 'NI',
    cities: [
      { city: 'chinandega', active: true },
      ...NI_CITIES.slice(0, 4),
      { city: 'Ñandaime', active: true },
      NI_CITIES[4]
    ],
    next_cursor: null,
    redis_cache: 'miss'
  }, 'the country in any case, answered in upper case')
})

t.test('active=true|false, in any case, keeps only the cities with that flag, from the same cached list', async t => {
  const app = await build(t)
  t.equal((await readList(app)).body.redis_cache, 'miss')
  for (const flag of ['true', 'TRUE', 'True']) {
    t.same((await readList(app, `country=NI&active=${flag}`)).body,
      { country: 'NI', cities: [{ city: 'Managua', active: true }], next_cursor: null, redis_cache: 'hit' }, flag)
  }
  for (const flag of ['false', 'FALSE', 'fAlSe']) {
    t.same((await readList(app, `country=NI&active=${flag}`)).body,
      { country: 'NI', cities: NI_CITIES.filter(city => !city.active), next_cursor: null, redis_cache: 'hit' }, flag)
  }
})

t.test('a valid country without cities is an empty list, cached like any other', async t => {
  const app = await build(t, { DEMO_DATA: 'false' })
  const before = app.availabilityStore.queryCount
  const first = await readList(app)
  t.equal(first.status, 200)
  t.same(first.body, { country: 'NI', cities: [], next_cursor: null, redis_cache: 'miss' })
  t.same((await readList(app)).body, { country: 'NI', cities: [], next_cursor: null, redis_cache: 'hit' })
  t.same((await readList(app, 'country=NI&active=true')).body, { country: 'NI', cities: [], next_cursor: null, redis_cache: 'hit' })
  t.equal(app.availabilityStore.queryCount - before, 1, 'one statement for the first read, none for the hits')
})

t.test('an invalid or missing country, or an invalid filter, is 400 in Fastify\'s error shape', async t => {
  const app = await build(t)
  const cases: Array<[string, string, RegExp]> = [
    ['unassigned country', 'country=XX', /country/],
    ['country that is not a code', 'country=N1', /country/],
    ['three letters', 'country=NIC', /country/],
    ['empty country', 'country=', /country/],
    ['missing country', '', /country/],
    ['only a filter', 'active=true', /country/],
    ['filter that is not a flag', 'country=NI&active=yes', /active/],
    ['empty filter', 'country=NI&active=', /active/],
    ['unknown parameter', 'country=NI&city=Managua', /additional|city/]
  ]
  for (const [name, query, parameter] of cases) {
    const response = await app.inject(list(query))
    t.equal(response.statusCode, 400, name)
    t.match(response.json(), { statusCode: 400, error: 'Bad Request', message: parameter }, name)
    t.equal(response.headers.etag, undefined, `${name}: no tag`)
  }
})

t.test('the first read misses, the next ones hit without a statement', async t => {
  const app = await build(t)
  t.same((await readList(app)).body, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'miss' })
  const before = app.availabilityStore.queryCount
  for (let read = 0; read < 3; read++) t.same((await readList(app)).body, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'hit' })
  t.equal(app.availabilityStore.queryCount - before, 0, 'no statement for a hit')
  // Lists are cached per country: another country's is its own miss.
  t.equal((await readList(app, 'country=CR')).body.redis_cache, 'miss')
})

t.test('every kind of write to a city of the country invalidates the list before it is acknowledged', async t => {
  const writes: Array<[string, (app: FastifyInstance) => Promise<number>, typeof NI_CITIES]> = [
    ['PUT of one city', async app => (await app.inject(write('PUT', 'NI', 'Masaya', true))).statusCode, withActive('Masaya', true)],
    ['PUT through another spelling', async app => (await app.inject(write('PUT', 'ni', ' LEON ', true))).statusCode, withActive('León', true)],
    ['POST of a new city', async app => (await app.inject(write('POST', 'NI', 'Jinotega', false))).statusCode,
      [...NI_CITIES.slice(0, 1), { city: 'Jinotega', active: false }, ...NI_CITIES.slice(1)]],
    ['DELETE of one city', async app => (await app.inject(remove('NI', 'rivas'))).statusCode, NI_CITIES.slice(0, 4)]
  ]
  for (const [name, run, expected] of writes) {
    await t.test(name, async t => {
      const app = await build(t)
      await readList(app)
      t.equal((await readList(app)).body.redis_cache, 'hit', 'the list is cached')
      t.ok([200, 201, 204].includes(await run(app)), 'the write succeeds')
      t.same((await readList(app)).body, { country: 'NI', cities: expected, next_cursor: null, redis_cache: 'miss' }, 'the very next read is a miss with the write')
      t.same((await readList(app)).body, { country: 'NI', cities: expected, next_cursor: null, redis_cache: 'hit' }, 'and is cached again')
    })
  }

  await t.test('a write to another country leaves the list cached', async t => {
    const app = await build(t)
    await readList(app)
    t.equal((await app.inject(write('POST', 'CR', 'Managua', true))).statusCode, 201)
    t.same((await readList(app)).body, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'hit' })
  })
})

t.test('50 concurrent cold reads of a country, filtered or not, make one MySQL statement', async t => {
  const app = await build(t)
  const queries = ['country=NI', 'country=NI&active=true', 'country=ni&active=false']
  const before = app.availabilityStore.queryCount
  const responses = await Promise.all(Array.from({ length: 50 }, (_, index) => app.inject(list(queries[index % queries.length] as string))))
  t.equal(app.availabilityStore.queryCount - before, 1, 'one statement')
  t.same(new Set(responses.map(response => response.statusCode)), new Set([200]))
  t.same(new Set(responses.map(response => response.json().redis_cache)), new Set(['miss']), 'all answered by the one read')
  t.same(responses[0]?.json().cities, NI_CITIES)
  t.same(responses[1]?.json().cities, [{ city: 'Managua', active: true }])
  t.same(responses[2]?.json().cities, NI_CITIES.filter(city => !city.active))
  t.same(app.availabilityCache.stats.fills, { stored: 1, refused: 0 }, 'one fill')
  t.equal((await readList(app)).body.redis_cache, 'hit')
  t.equal(app.availabilityStore.queryCount - before, 1, 'and none since')
})

t.test('a list reader that read MySQL before a write cannot cache what it read', async t => {
  const writes: Array<[string, ReturnType<typeof write> | ReturnType<typeof remove>, typeof NI_CITIES]> = [
    ['PUT', write('PUT', 'NI', 'Managua', false), withActive('Managua', false)],
    ['POST', write('POST', 'NI', 'Boaco', true), [{ city: 'Boaco', active: true }, ...NI_CITIES]],
    ['DELETE', remove('NI', 'Granada'), NI_CITIES.slice(1)]
  ]
  for (const [name, request, expected] of writes) {
    await t.test(name, async t => {
      const gate = readerGate('NI')
      const app = await build(t, {}, gate.options)
      const stalled = app.inject(list('country=NI'))
      await gate.arrived
      // The reader holds the old list and the fill lease; the write commits and invalidates meanwhile.
      t.ok([200, 201, 204].includes((await app.inject(request)).statusCode), 'the write succeeds')
      gate.release()

      t.same((await stalled).json(), { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'miss' }, 'the reader that started first answers what it read')
      t.same(app.availabilityCache.stats.fills, { stored: 0, refused: 1 }, 'its fill was refused')
      t.same((await readList(app)).body, { country: 'NI', cities: expected, next_cursor: null, redis_cache: 'miss' }, 'the next read shows the write')
      t.same((await readList(app)).body, { country: 'NI', cities: expected, next_cursor: null, redis_cache: 'hit' })
    })
  }
})

t.test('a list read that starts after a write is acknowledged does not join a read that started before it', async t => {
  const gate = readerGate('NI')
  const app = await build(t, {}, gate.options)
  const early = app.inject(list('country=NI'))
  await gate.arrived
  t.equal((await app.inject(write('PUT', 'NI', 'Rivas', true))).statusCode, 200)

  const before = app.availabilityStore.queryCount
  t.same((await readList(app)).body, { country: 'NI', cities: withActive('Rivas', true), next_cursor: null, redis_cache: 'miss' },
    'answers the write while the earlier read is still stalled')
  t.equal(app.availabilityStore.queryCount - before, 1, 'with a statement of its own')

  gate.release()
  t.same((await early).json().cities, NI_CITIES, 'the stalled read answers the old list')
  t.same((await readList(app)).body, { country: 'NI', cities: withActive('Rivas', true), next_cursor: null, redis_cache: 'hit' }, 'and did not overwrite the new one')
})

t.test('MySQL cut off past the TTL: the list is served as stale, a list never cached is 503; restored: read again', async t => {
  const proxy = await startTcpProxy(Number(process.env.DATABASE_PORT ?? 3306))
  t.teardown(() => proxy.close())
  const app = await build(t, {
    DATABASE_PORT: String(proxy.port), DATABASE_TIMEOUT_MS: '500', DATABASE_WRITE_TIMEOUT_MS: '1000', CACHE_TTL_SECONDS: '1', CACHE_GRACE_SECONDS: '3600'
  })
  // Runs before the app's own teardown, which drops its database through the proxy.
  t.teardown(() => proxy.restore())
  const redis = new Redis({ host: app.config.REDIS_LOCATION, port: app.config.REDIS_PORT })
  t.teardown(() => redis.quit())

  const cached = await readList(app)
  t.equal(cached.body.redis_cache, 'miss')
  await proxy.cut()
  // Past CACHE_TTL_SECONDS, within CACHE_GRACE_SECONDS.
  const { value } = countryKeys(app.config.CACHE_NAMESPACE, 'NI')
  await until(async () => await redis.exists(value) === 0, 'the list\'s value expires', 5000)

  const stale = await readList(app)
  t.same([stale.status, stale.body], [200, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'stale' }])
  t.equal(stale.etag, cached.etag, 'with the tag of the same data')
  const filtered = await readList(app, 'country=NI&active=true')
  t.same(filtered.body, { country: 'NI', cities: [{ city: 'Managua', active: true }], next_cursor: null, redis_cache: 'stale' })
  const never = await readList(app, 'country=CR')
  t.equal(never.status, 503, 'nothing known about CR\'s list')
  t.match(never.body, { statusCode: 503, error: 'Service Unavailable' })
  const worst = Math.max(stale.ms, filtered.ms, never.ms)
  t.ok(worst < BOUND_MS, `every answer within ${BOUND_MS} ms (worst ${worst.toFixed(0)} ms)`)

  await proxy.restore()
  t.same((await readList(app)).body, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'miss' })
  t.same((await readList(app)).body, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'hit' })
})

t.test('Redis killed: lists are read from MySQL (bypass) with every write; restarted: cached again, with the writes', async t => {
  const redisServer = await startRedisServer()
  t.teardown(() => redisServer.kill())
  const app = await build(t, { REDIS_PORT: String(redisServer.port) })
  // Runs before the app's own teardown, which needs Redis to clean its keys up.
  t.teardown(() => redisServer.start())

  await readList(app)
  t.equal((await readList(app)).body.redis_cache, 'hit')
  await redisServer.kill()

  const during = await readList(app)
  t.same([during.status, during.body], [200, { country: 'NI', cities: NI_CITIES, next_cursor: null, redis_cache: 'bypass' }])
  t.equal((await app.inject(write('PUT', 'NI', 'Managua', false))).statusCode, 200)
  const afterPut = await readList(app)
  t.same(afterPut.body, { country: 'NI', cities: withActive('Managua', false), next_cursor: null, redis_cache: 'bypass' }, 'the write is seen at once')
  t.equal((await app.inject(remove('NI', 'Rivas'))).statusCode, 204)
  const afterDelete = await readList(app, 'country=NI&active=false')
  t.same(afterDelete.body, { country: 'NI', cities: [{ city: 'Granada', active: false }, { city: 'León', active: false }, { city: 'Managua', active: false }, { city: 'Masaya', active: false }], next_cursor: null, redis_cache: 'bypass' })
  const worst = Math.max(during.ms, afterPut.ms, afterDelete.ms)
  t.ok(worst < BOUND_MS, `every answer within ${BOUND_MS} ms (worst ${worst.toFixed(0)} ms)`)

  await redisServer.start()
  await until(async () => app.availabilityCache.pendingInvalidations === 0, 'the pending invalidations reach Redis')
  const expected = withActive('Managua', false).slice(0, 4)
  t.same((await readList(app)).body, { country: 'NI', cities: expected, next_cursor: null, redis_cache: 'miss' })
  t.same((await readList(app)).body, { country: 'NI', cities: expected, next_cursor: null, redis_cache: 'hit' })
})

t.test('Redis cut off with its data kept: a list cached before the outage and written during it never comes back', async t => {
  const redisServer = await startRedisServer()
  t.teardown(() => redisServer.kill())
  const proxy = await startTcpProxy(redisServer.port)
  t.teardown(() => proxy.close())
  const app = await build(t, { REDIS_PORT: String(proxy.port) })
  t.teardown(() => proxy.restore())

  await readList(app)
  t.equal((await readList(app)).body.redis_cache, 'hit', 'the list is cached with Managua active')
  await proxy.cut()
  t.equal((await app.inject(write('PUT', 'NI', 'Managua', false))).statusCode, 200)
  t.equal(app.availabilityCache.pendingInvalidations, 1)
  t.same((await readList(app)).body, { country: 'NI', cities: withActive('Managua', false), next_cursor: null, redis_cache: 'bypass' })

  await proxy.restore()
  // Read all the time while the client reconnects and the invalidation is retried.
  const answers = new Set<string>()
  let afterDrain = 0
  await until(async () => {
    const { body } = await readList(app)
    const managua = (body.cities as typeof NI_CITIES).find(city => city.city === 'Managua')
    answers.add(`${managua?.active} ${body.redis_cache}`)
    if (app.availabilityCache.pendingInvalidations === 0) afterDrain++
    return afterDrain >= 20
  }, 'the invalidation reaches Redis')
  t.notOk(answers.has('true hit'), `the list from before the outage was never served (${[...answers].join(', ')})`)
  t.ok(answers.has('false hit'), 'the list is cached again')
})

t.test('Redis pausing writes: the write commits, the list read while its invalidation is owed shows it, and is cached again after', async t => {
  const redisServer = await startRedisServer()
  t.teardown(() => redisServer.kill())
  const app = await build(t, { REDIS_PORT: String(redisServer.port) })
  const direct = new Redis({ port: redisServer.port })
  t.teardown(() => direct.quit())

  await readList(app)
  t.equal((await readList(app)).body.redis_cache, 'hit', 'the list is cached with Managua active')
  // Reads (a plain GET of the cached list) go on; every delete waits for the pause to end.
  await direct.client('PAUSE', 3000, 'WRITE')
  t.equal((await app.inject(write('PUT', 'NI', 'Managua', false))).statusCode, 200, 'the write commits')
  t.equal(app.availabilityCache.pendingInvalidations, 1, 'its invalidation waits for Redis')
  const during = await readList(app)
  t.same(during.body, { country: 'NI', cities: withActive('Managua', false), next_cursor: null, redis_cache: 'bypass' }, 'the list still in Redis is not served')
  t.ok(during.ms < BOUND_MS, `within ${BOUND_MS} ms (${during.ms.toFixed(0)} ms)`)

  await direct.client('UNPAUSE')
  await until(async () => app.availabilityCache.pendingInvalidations === 0, 'the invalidation reaches Redis after the pause')
  t.same((await readList(app)).body, { country: 'NI', cities: withActive('Managua', false), next_cursor: null, redis_cache: 'miss' })
})
