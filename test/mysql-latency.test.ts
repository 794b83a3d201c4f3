import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { demoLocations } from '../db/demo-data.ts'
import { build } from './helper.ts'
import { metricSample } from './support/metrics-sample.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { tally, timedClient, type TimedResponse } from './support/timed-client.ts'

/** Demo locations outside Nicaragua: cold in a fresh instance, one per country. */
const CAPITALS = demoLocations().filter(location => location.country !== 'NI')
const WRITTEN = CAPITALS.at(-1) as { country: string, city: string }

/** An app whose MySQL is reached through a proxy that can slow it down, listening on a real socket. */
async function appBehindSlowProxy (t: Test, overrides: Record<string, string> = {}) {
  const proxy = await startTcpProxy(Number(process.env.DATABASE_PORT ?? 3306))
  t.teardown(() => proxy.close())
  const app = await build(t, { DATABASE_PORT: String(proxy.port), ...overrides })
  // Runs before the app's own teardown, which drops its database through the proxy.
  t.teardown(() => proxy.delay(0))
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, proxy, baseUrl, client: timedClient(baseUrl) }
}

const statuses = (responses: TimedResponse[]) => responses.map(response => response.status)
const worst = (responses: TimedResponse[]) => Math.max(...responses.map(response => response.ms))

function percentile (values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number
}

t.test('MySQL 300 ms slower: 25 PUTs and 25 cold GETs at once all answer 200, on the pool\'s own connections; then back to normal at once', async t => {
  const { proxy, baseUrl, client } = await appBehindSlowProxy(t)
  const openedBefore = proxy.connectionsAccepted
  proxy.delay(300)

  const started = performance.now()
  const burst = await Promise.all([
    ...Array.from({ length: 25 }, (_, index) => client.put('NI', 'Managua', index % 2 === 0)),
    ...CAPITALS.slice(0, 25).map(({ country, city }) => client.get(country, city))
  ])
  const ready = await fetch(`${baseUrl}/ready`)
  t.comment(`50 requests at +300 ms per round trip: statuses ${tally(burst)}, all answered in ${(performance.now() - started).toFixed(0)} ms, worst ${worst(burst).toFixed(0)} ms, ${proxy.connectionsAccepted - openedBefore} MySQL connections opened`)
  t.same(new Set(statuses(burst)), new Set([200]), 'every request answered 200')
  t.ok(burst.slice(25).every(response => response.body?.redis_cache === 'miss'), 'every GET read MySQL')
  t.equal(proxy.connectionsAccepted - openedBefore, 0, 'no connection opened beyond the pool the instance started with')
  t.equal(ready.status, 200, '/ready is 200: MySQL is slow, not down')
  t.same(await ready.json(), { status: 'ready', mysql: 'ok', redis: 'ok' })

  proxy.delay(0)
  const after = [
    await client.get('NI', 'Managua'),
    await client.put('NI', 'Managua', true),
    await client.get('NI', 'Managua'),
    ...await Promise.all(CAPITALS.slice(25, 45).map(({ country, city }) => client.get(country, city)))
  ]
  t.comment(`once the latency is gone: worst of ${after.length} requests ${worst(after).toFixed(0)} ms`)
  t.same(new Set(statuses(after)), new Set([200]), 'the very next requests succeed')
  t.equal(after[2]?.body?.active, true, 'and read what was written last')
  t.ok(worst(after) < 500, 'at normal speed: no dead connection, no lease left to wait for')
  t.equal(proxy.connectionsAccepted - openedBefore, 0, 'still on the same connections')
})

t.test('MySQL 1.5 s slower, 200 cold GETs: served or refused within the budget, refused at once once MySQL is known slow, hits unaffected, writes kept', async t => {
  // The record sync's own statements queue like any other, and a refused one would count among the refusals checked below.
  const { baseUrl, proxy, client } = await appBehindSlowProxy(t, { CACHE_SYNC_INTERVAL_MS: '60000' })
  const hits = timedClient(baseUrl)
  const cached = ['Managua', 'León', 'Granada', 'Masaya', 'Rivas']
  for (const city of cached) await hits.get('NI', city)
  proxy.delay(1500)

  const missesDone = new AbortController()
  const hitTimes: number[] = []
  const hitOutcomes = new Set<unknown>()
  const hitLoop = (async () => {
    for (let index = 0; !missesDone.signal.aborted; index++) {
      const response = await hits.get('NI', cached[index % cached.length] as string)
      hitTimes.push(response.ms)
      hitOutcomes.add(`${response.status} ${response.body?.redis_cache}`)
    }
  })()

  const cold = (wave: string, count: number) =>
    Array.from({ length: count }, (_, index) => client.get('NI', `Ciudad ${wave} ${index}`))
  const started = performance.now()
  const [first, writes] = await Promise.all([
    Promise.all(cold('A', 200)),
    Promise.all(Array.from({ length: 5 }, (_, index) => client.put(WRITTEN.country, WRITTEN.city, index % 2 === 0)))
  ])
  const firstMs = performance.now() - started
  const second = await Promise.all(cold('B', 50))
  missesDone.abort()
  await hitLoop

  const served = first.filter(response => response.status === 404)
  const refused = first.filter(response => response.status === 503)
  const refusedAgain = second.filter(response => response.status === 503)
  const refusedFast = refusedAgain.filter(response => response.ms < 500)
  t.comment(`first wave: ${served.length} served (404, unknown cities), ${refused.length} refused, worst ${worst(first).toFixed(0)} ms, all in ${firstMs.toFixed(0)} ms`)
  t.comment(`second wave: ${second.length - refusedAgain.length} served, ${refusedAgain.length} refused, of which ${refusedFast.length} within 500 ms (worst refusal ${worst(refusedAgain).toFixed(0)} ms)`)
  t.comment(`writes: ${tally(writes)}, worst ${worst(writes).toFixed(0)} ms; hits: ${hitTimes.length}, p99 ${percentile(hitTimes, 0.99).toFixed(1)} ms`)

  t.equal(served.length + refused.length, first.length, 'each GET is answered from MySQL or refused with 503')
  t.ok(served.length >= 10, 'what the pool can serve in time is served')
  t.ok(refused.length > 0, 'what it cannot is refused')
  t.ok(worst(first) < 2000 + 1000, 'every answer within DATABASE_TIMEOUT_MS plus a second')
  t.ok([...refused, ...refusedAgain].every(response => Number(response.headers.get('retry-after')) >= 1), 'every refusal carries Retry-After')
  t.ok([...refused, ...refusedAgain].every(({ body }) => Object.keys(body ?? {}).sort().join() === 'error,message,statusCode' &&
    body?.statusCode === 503 && body.error === 'Service Unavailable' && /^MySQL is busy: this request was not run, /.test(String(body.message))),
  'every refusal in Fastify\'s error shape, saying the request was not run')
  t.ok(refusedAgain.length >= 30, 'with MySQL known to be slow, most of a second wave is refused')
  t.equal(refusedFast.length, refusedAgain.length, 'and refused at once, not after waiting out the budget')
  t.same(statuses(writes), [200, 200, 200, 200, 200], 'writes have a budget of their own: none refused or abandoned')
  t.same(hitOutcomes, new Set(['200 hit']), 'hits are served from the cache throughout')
  t.ok(percentile(hitTimes, 0.99) < 50, 'and never wait behind misses (p99 under 50 ms)')

  const shed = await metricSample(baseUrl, 'nicaventas_mysql_requests_shed_total{reason="wait_estimate"}') +
    await metricSample(baseUrl, 'nicaventas_mysql_requests_shed_total{reason="deadline"}')
  t.equal(shed, refused.length + refusedAgain.length, '/metrics counts every refusal')
  t.ok(await metricSample(baseUrl, 'nicaventas_mysql_queue_wait_seconds_count') > 0, '/metrics times the queue')
  t.ok(await metricSample(baseUrl, 'nicaventas_mysql_statement_seconds_sum{kind="read"}') > 1.5, '/metrics times statements')
  t.ok(await metricSample(baseUrl, 'nicaventas_redis_command_seconds_count') > 0, '/metrics times Redis commands')
  t.equal(await metricSample(baseUrl, 'nicaventas_mysql_requests_waiting'), 0, 'nobody is left waiting')
  t.ok(await metricSample(baseUrl, 'nicaventas_mysql_connections_in_use') <= 10, 'no more connections in use than the pool holds')

  proxy.delay(0)
  const recovered = await Promise.all(cold('C', 30))
  t.same(new Set(statuses(recovered)), new Set([404]), 'once MySQL is fast again, everything is served')
})

t.test('MySQL stalls for 5 s: no connection opened, reads refused within their budget, no write abandoned once sent, normal at once after', async t => {
  const { proxy, client } = await appBehindSlowProxy(t)
  const openedBefore = proxy.connectionsAccepted
  proxy.stall()
  const stallEnds = Date.now() + 5000
  const reading: Array<Promise<TimedResponse>> = []
  const writing: Array<Promise<TimedResponse>> = []
  for (let index = 0; Date.now() < stallEnds - 300; index++) {
    reading.push(client.get('NI', `Ciudad D ${index}`))
    if (index % 5 === 0) writing.push(client.put(WRITTEN.country, WRITTEN.city, index % 2 === 0))
    await sleep(100)
  }
  await sleep(stallEnds - Date.now())
  proxy.resume()
  const writes = await Promise.all(writing)
  const answers = [...await Promise.all(reading), ...writes]
  t.comment(`${answers.length} requests during a 5 s stall: ${tally(answers)}; writes ${tally(writes)}; worst ${worst(answers).toFixed(0)} ms; ${proxy.connectionsAccepted - openedBefore} connections opened`)
  t.equal(proxy.connectionsAccepted - openedBefore, 0, 'no connection opened: the pool\'s own wait out the stall')
  t.ok(answers.every(answer => answer.status === 404 || answer.status === 200 || answer.status === 503), 'served or refused')
  t.ok(worst(answers) < 8000 + 1000, 'nothing waits past its budget')
  t.same(new Set(statuses(writes)), new Set([200]), 'every write waits out the stall within its own budget and is acknowledged')

  const after = await Promise.all(Array.from({ length: 20 }, (_, index) => client.get('NI', `Ciudad E ${index}`)))
  t.same(new Set(statuses(after)), new Set([404]), 'right after the stall, everything is served')
  t.ok(worst(after) < 500, 'at normal speed')
})
