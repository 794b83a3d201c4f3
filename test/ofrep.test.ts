import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import { AUTH, build } from './helper.ts'
import { openSse } from './support/sse-client.ts'
import { appMetricSample as metric } from './support/metrics-sample.ts'
import { until } from './support/until.ts'
import { locationKeys } from '../services/availability/location-keys.ts'
import { locationId } from '../domain/location.ts'

// OFREP's evaluation endpoints for `sales-active`, in the protocol's shapes (open-feature/protocol, service/openapi.yaml).

const evaluate = (app: FastifyInstance, context: unknown, key = 'sales-active') =>
  app.inject({ method: 'POST', url: `/ofrep/v1/evaluate/flags/${key}`, payload: { context } })

const bulk = (app: FastifyInstance, context: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags', payload: { context }, headers })

t.test('a registered location evaluates to its flag, read through the cache like GET /active', async t => {
  const app = await build(t)
  const first = await evaluate(app, { targetingKey: 'NI/Managua' })
  t.equal(first.statusCode, 200)
  t.same(first.json(), {
    key: 'sales-active',
    value: true,
    reason: 'TARGETING_MATCH',
    variant: 'active',
    metadata: { redis_cache: 'miss', registered: true, country: 'NI', city: 'Managua' }
  })
  const second = await evaluate(app, { country: 'ni', city: ' MÁNAGUA ' })
  t.same(second.json().metadata, { redis_cache: 'hit', registered: true, country: 'NI', city: 'Managua' }, 'the same cache entry: a hit')
  const leon = await evaluate(app, { targetingKey: 'user-42', country: 'NI', city: 'León' })
  t.same([leon.json().value, leon.json().variant], [false, 'inactive'], 'attributes win over a targetingKey that is not a location')

  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'León', active: true } })
  const after = await evaluate(app, { targetingKey: 'NI/León' })
  t.same([after.json().value, after.json().variant, after.json().metadata.redis_cache], [true, 'active', 'miss'], 'a write is seen at once')
})

t.test('a location not registered evaluates to false, told apart by reason and variant', async t => {
  const app = await build(t)
  const response = await evaluate(app, { targetingKey: 'NI/Ocotal' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { key: 'sales-active', value: false, reason: 'STATIC', variant: 'unregistered', metadata: { redis_cache: 'miss', registered: false } })
  t.equal((await evaluate(app, { targetingKey: 'NI/Ocotal' })).json().metadata.redis_cache, 'hit', 'the "not found" is cached like GET /active\'s')
})

t.test('refusals in the protocol\'s shapes: an unknown flag, a context without a location, a body that is not JSON', async t => {
  const app = await build(t)
  const unknown = await evaluate(app, { targetingKey: 'NI/Managua' }, 'dark-mode')
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { key: 'dark-mode', errorCode: 'FLAG_NOT_FOUND', errorDetails: 'Flag \'dark-mode\' was not found' })

  for (const context of [{ targetingKey: 'user-42' }, {}, { country: 'NI' }, { targetingKey: 'XX/Managua' }, { country: 'NI', city: 'Man<agua' }]) {
    const response = await evaluate(app, context)
    t.equal(response.statusCode, 400, JSON.stringify(context))
    t.match(response.json(), { key: 'sales-active', errorCode: 'INVALID_CONTEXT', errorDetails: String })
  }
  const noContext = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/sales-active', payload: { ctx: {} } })
  t.match(noContext.json(), { key: 'sales-active', errorCode: 'INVALID_CONTEXT' })
  const notJson = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/sales-active', headers: { 'content-type': 'application/json' }, payload: '{"context":' })
  t.equal(notJson.statusCode, 400)
  t.match(notJson.json(), { key: 'sales-active', errorCode: 'PARSE_ERROR' })
  const notJsonAtAll = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/sales-active', headers: { 'content-type': 'text/plain' }, payload: 'NI/Managua' })
  t.equal(notJsonAtAll.statusCode, 415, 'a body that is not JSON at all: the service\'s own refusal')
  t.match(notJsonAtAll.json(), { statusCode: 415, error: 'Unsupported Media Type' })
  const bulkRefused = await bulk(app, { targetingKey: 'nowhere' })
  t.equal(bulkRefused.statusCode, 400)
  t.same(Object.keys(bulkRefused.json()), ['errorCode', 'errorDetails'], 'bulkEvaluationFailure: no key')
})

t.test('bulk: the flag, an ETag that If-None-Match answers 304 until the answer changes, and the location\'s event stream', async t => {
  const app = await build(t)
  const response = await bulk(app, { targetingKey: 'NI/Granada' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), {
    flags: [{ key: 'sales-active', value: false, reason: 'TARGETING_MATCH', variant: 'inactive', metadata: { redis_cache: 'miss', registered: true, country: 'NI', city: 'Granada' } }],
    eventStreams: [{ type: 'sse', endpoint: { requestUri: '/ofrep/v1/events?country=NI&city=Granada' }, inactivityDelaySec: 120 }]
  })
  const etag = response.headers.etag as string
  t.match(etag, /^W\/"/)
  const unchanged = await bulk(app, { country: 'NI', city: 'granada' }, { 'if-none-match': etag })
  t.equal(unchanged.statusCode, 304, 'a hit now, the same data: the same tag')
  t.equal(unchanged.body, '')
  const refetched = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags?flagConfigEtag=abc&flagConfigLastModified=1771622898', payload: { context: { targetingKey: 'NI/Granada' } }, headers: { 'if-none-match': etag } })
  t.equal(refetched.statusCode, 304, 'the event stream\'s query metadata is accepted')

  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Granada', active: true } })
  const changed = await bulk(app, { targetingKey: 'NI/Granada' }, { 'if-none-match': etag })
  t.equal(changed.statusCode, 200, 'changed: the new answer')
  t.equal(changed.json().flags[0].value, true)
  t.not(changed.headers.etag, etag)
})

t.test('the event stream sends refetchEvaluation for its location\'s changes only, and one at once to a resume that missed some', async t => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const stream = await openSse(`${base}/ofrep/v1/events?country=NI&city=Masaya`)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Rivas', active: true } })
  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Masaya', active: true } })
  const [message] = await stream.waitFor('message')
  const data = JSON.parse(message!.data)
  t.same(Object.keys(data), ['type', 'lastModified'])
  t.equal(data.type, 'refetchEvaluation')
  t.ok(Math.abs(data.lastModified - Date.now() / 1000) < 60, 'lastModified: the change\'s time, in Unix seconds')
  t.equal(stream.events.filter(event => event.event === 'message').length, 1, 'Rivas\'s change is not Masaya\'s')
  t.match(stream.events[0], { id: /^\d+$/, event: '', data: '' }, 'the opening sets Last-Event-ID and dispatches nothing')
  stream.close()

  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Masaya', active: false } })
  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Masaya', active: true } })
  await new Promise(resolve => setTimeout(resolve, 100))
  const resumed = await openSse(`${base}/ofrep/v1/events?country=NI&city=Masaya`, { 'last-event-id': message!.id! })
  t.teardown(() => resumed.close())
  const [missed] = await resumed.waitFor('message')
  t.equal(JSON.parse(missed!.data).type, 'refetchEvaluation', 'two changes missed: one refetch')
  t.ok(Number(missed!.id) >= Number(message!.id) + 2)
  const old = await openSse(`${base}/ofrep/v1/events?country=NI&city=Masaya`, { 'last-event-id': 'not-ours' })
  t.teardown(() => old.close())
  t.same(JSON.parse((await old.waitFor('message'))[0]!.data), { type: 'refetchEvaluation' }, 'an unknown position: refetch')
  const cityAlone = await app.inject({ url: '/ofrep/v1/events?city=Masaya' })
  t.same(cityAlone.json(), { statusCode: 400, error: 'Bad Request', message: 'querystring/city needs querystring/country' })
})

t.test('with the local tier on, an evaluation is answered from memory like GET /active', async t => {
  const app = await build(t, { CACHE_LOCAL_TTL_MS: '60000' })
  await until(async () => await metric(app, 'nicaventas_cache_local_subscribed') === 1, 'the tier is subscribed')
  t.equal((await evaluate(app, { targetingKey: 'NI/Managua' })).json().metadata.redis_cache, 'miss')
  t.equal((await evaluate(app, { targetingKey: 'NI/Managua' })).json().metadata.redis_cache, 'hit', 'from Redis, and now kept in memory')
  // Only memory can answer now: the value is gone from Redis behind the service's back.
  const redis = new Redis({ host: app.config.REDIS_LOCATION, port: app.config.REDIS_PORT })
  t.teardown(() => redis.quit())
  await redis.del(locationKeys(app.config.CACHE_NAMESPACE, locationId('NI', 'Managua')).value)
  const kept = await evaluate(app, { country: 'NI', city: 'Managua' })
  t.same([kept.json().value, kept.json().metadata.redis_cache], [true, 'hit'])
  t.equal(await metric(app, 'nicaventas_cache_local_hits_total'), 1, 'the local tier answered it')
})
