import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import type { RowDataPacket } from 'mysql2/promise'
import t, { type Test } from 'tap'
import { ChangeEventData } from '../schemas/change-stream.ts'
import { AUTH, build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { changesIn, openSse, type SseStream } from './support/sse-client.ts'
import { appMetricSample } from './support/metrics-sample.ts'
import { until } from './support/until.ts'

// GET /active/events: what a subscriber receives, from one instance (change-stream-faults.test.ts has the others).

async function listening (t: Test, env: Record<string, string> = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await build(t, env)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${address.port}` }
}

async function subscribe (t: Test, url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const stream = await openSse(url, headers)
  t.teardown(() => stream.close())
  return stream
}

async function put (app: FastifyInstance, country: string, city: string, active: boolean): Promise<void> {
  const response = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country, city, active } })
  if (response.statusCode !== 200) throw new Error(`PUT answered ${response.statusCode}: ${response.body}`)
}

/** A connection of the test's own whose open transaction took the next history id (Rivas's change), as a slow administrator's edit would. */
async function holdNextId (t: Test, app: FastifyInstance) {
  const sql = await directSql(t, app)
  await sql.beginTransaction()
  await sql.query('UPDATE locations SET active = 1 WHERE country = \'NI\' AND city_key = \'rivas\'')
  return sql
}

const latestId = async (app: FastifyInstance, t: Test): Promise<number> => {
  const [rows] = await (await directSql(t, app)).query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS latest FROM location_changes')
  return Number(rows[0]!.latest)
}

t.test('a stream opens with hello and a retry hint, then carries each change as an event in the documented shape', async t => {
  const { app, url } = await listening(t)
  const latest = await latestId(app, t)
  const stream = await subscribe(t, `${url}/active/events`)
  t.equal(stream.status, 200)
  t.match(stream.headers['content-type'], /^text\/event-stream/)
  t.equal(stream.headers['x-accel-buffering'], 'no', 'nginx must not buffer it')
  t.equal(stream.headers['x-content-type-options'], 'nosniff', 'the security headers are sent on a stream too')
  const [hello] = await stream.waitFor('hello')
  t.same({ id: hello!.id, data: JSON.parse(hello!.data) }, { id: String(latest), data: { latest_id: latest } }, 'hello names the newest change id')
  t.same(stream.retries, [2000], 'retry: the default CHANGE_STREAM_RETRY_MS')

  await put(app, 'ni', 'managua', false)
  const created = await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Ocotal', active: true } })
  t.equal(created.statusCode, 201)
  const deleted = await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Ocotal', headers: AUTH })
  t.equal(deleted.statusCode, 204)

  const events = await stream.waitFor('change', 3)
  t.match(events[0]!.data, /^\{"country":"NI","city":"Managua","active":false,"action":"update","version":\d+,"changed_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}$/,
    'the change event\'s data, field by field in this order')
  const ajv = new Ajv2020({ strict: false })
  addFormats.default(ajv)
  const matchesSchema = ajv.compile(ChangeEventData)
  for (const event of events) t.ok(matchesSchema(JSON.parse(event.data)), `${event.data} is what schemas/change-stream.ts describes`)
  const changes = changesIn(events)
  t.same(changes.map(({ id, country, city, active, action }) => ({ id, country, city, active, action })), [
    { id: latest + 1, country: 'NI', city: 'Managua', active: false, action: 'update' },
    { id: latest + 2, country: 'NI', city: 'Ocotal', active: true, action: 'create' },
    { id: latest + 3, country: 'NI', city: 'Ocotal', active: null, action: 'delete' }
  ], 'one event per change, ids from the history, null for a delete')
  t.ok(Math.abs(Date.parse(changes[0]!.changed_at as string) - Date.now()) < 60_000, 'changed_at is the change\'s time, in UTC')
})

t.test('filters: a country (any case), a city matched like GET /active; city alone is refused', async t => {
  const { app, url } = await listening(t)
  const nicaragua = await subscribe(t, `${url}/active/events?country=ni`)
  const managua = await subscribe(t, `${url}/active/events?country=NI&city=${encodeURIComponent('  MÁNAGUA ')}`)
  const everything = await subscribe(t, `${url}/active/events`)
  await Promise.all([nicaragua, managua, everything].map(stream => stream.waitFor('hello')))

  await put(app, 'CR', 'San José', true)
  await put(app, 'NI', 'León', true)
  await put(app, 'NI', 'Managua', false)
  await everything.waitFor('change', 3)
  await nicaragua.waitFor('change', 2)
  await managua.waitFor('change', 1)
  // One more change everyone sees, so nothing else can still be on its way to the filtered streams.
  await put(app, 'NI', 'Managua', true)
  await managua.waitFor('change', 2)
  await nicaragua.waitFor('change', 3)
  await everything.waitFor('change', 4)
  t.same(changesIn(everything.events).map(change => change.city), ['San José', 'León', 'Managua', 'Managua'])
  t.same(changesIn(nicaragua.events).map(change => change.city), ['León', 'Managua', 'Managua'], 'only NI')
  t.same(changesIn(managua.events).map(change => [change.city, change.active]), [['Managua', false], ['Managua', true]], 'only Managua')

  const cityAlone = await app.inject({ url: '/active/events?city=Managua' })
  t.equal(cityAlone.statusCode, 400)
  t.same(cityAlone.json(), { statusCode: 400, error: 'Bad Request', message: 'querystring/city needs querystring/country' }, 'in Fastify\'s error shape')
  t.equal((await app.inject({ url: '/active/events?country=XX' })).statusCode, 400, 'an unassigned country')
})

t.test('changes from many concurrent writers arrive once each, in id order', async t => {
  const { app, url } = await listening(t)
  const stream = await subscribe(t, `${url}/active/events?country=NI`)
  const [hello] = await stream.waitFor('hello')
  const cities = ['Managua', 'León', 'Granada', 'Masaya', 'Rivas']
  await Promise.all(Array.from({ length: 60 }, (_, i) => put(app, 'NI', cities[i % cities.length]!, i % 2 === 0)))
  const [rows] = await (await directSql(t, app)).query<RowDataPacket[]>(
    'SELECT id, city, active FROM location_changes WHERE id > ? AND country = \'NI\' ORDER BY id', [Number(hello!.id)])
  await stream.waitFor('change', rows.length)
  // A PUT that finds the value it asks for already there changes nothing: the order decides how many do.
  t.ok(rows.length >= 30, `${rows.length} of the 60 PUTs changed a flag`)
  t.same(changesIn(stream.events).map(({ id, city, active }) => ({ id, city, active: active === true ? 1 : 0 })),
    rows.map(row => ({ id: Number(row.id), city: row.city, active: row.active })), 'the history, in its order, none twice')
})

t.test('resume: Last-Event-ID replays the missed burst in order, then the live changes, none twice', async t => {
  const { app, url } = await listening(t)
  const first = await subscribe(t, `${url}/active/events?country=NI`)
  await put(app, 'NI', 'Granada', true)
  const [seen] = await first.waitFor('change')
  first.close()

  for (let i = 0; i < 20; i++) await put(app, i % 2 === 0 ? 'NI' : 'CR', i % 2 === 0 ? 'Masaya' : 'San José', i % 4 === 0)
  const resumed = await subscribe(t, `${url}/active/events?country=NI`, { 'last-event-id': seen!.id! })
  const [hello] = await resumed.waitFor('hello')
  t.equal(hello!.id, undefined, 'the opening of a resumed stream leaves Last-Event-ID where it was')
  const replayed = await resumed.waitFor('change', 10)
  await put(app, 'NI', 'Rivas', true)
  const all = changesIn(await resumed.waitFor('change', 11))
  t.equal(all.length, 11)
  t.same(all.slice(0, 10).map(change => change.city), Array(10).fill('Masaya'), 'the NI changes missed, not CR\'s')
  t.equal(all[10]!.city, 'Rivas', 'then the live one')
  const ids = all.map(change => change.id)
  t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'in id order, none twice')
  t.ok(ids[0]! > Number(seen!.id), 'nothing at or before Last-Event-ID')
  t.equal(replayed.length, 10)
})

t.test('a resume too far back, or from an id that is not ours, gets reset with the newest id', async t => {
  const { app, url } = await listening(t, { CHANGE_STREAM_REPLAY_MAX: '5' })
  const before = await latestId(app, t)
  for (let i = 0; i < 6; i++) await put(app, 'NI', 'León', i % 2 === 0)
  await until(async () => app.changeFeed.deliveredUpTo === before + 6, 'the feed has read the six changes')

  const tooOld = await subscribe(t, `${url}/active/events`, { 'last-event-id': String(before) })
  const [reset] = await tooOld.waitFor('reset')
  t.same({ id: reset!.id, data: JSON.parse(reset!.data) }, { id: String(before + 6), data: { latest_id: before + 6 } })
  const justInReach = await subscribe(t, `${url}/active/events`, { 'last-event-id': String(before + 1) })
  t.equal((await justInReach.waitFor('change', 5)).length, 5, 'five back is replayed')
  const foreign = await subscribe(t, `${url}/active/events`, { 'last-event-id': 'evt-1234' })
  await foreign.waitFor('reset')

  await put(app, 'NI', 'León', true)
  t.equal(changesIn(await tooOld.waitFor('change'))[0]!.id, before + 7, 'after a reset, the live changes follow')
  t.equal(justInReach.events.filter(event => event.event === 'reset').length, 0)
})

t.test('an idle stream gets a comment line every CHANGE_STREAM_KEEPALIVE_MS', async t => {
  const { url } = await listening(t, { CHANGE_STREAM_KEEPALIVE_MS: '200' })
  const stream = await subscribe(t, `${url}/active/events`)
  await until(async () => stream.comments >= 2, 'two keep-alives', 3000)
  t.match(stream.text, /\n: keep-alive\n\n/)
})

t.test('beyond CHANGE_STREAM_MAX_SUBSCRIBERS a subscriber gets 503 with Retry-After; a place freed is taken again', async t => {
  const { app, url } = await listening(t, { CHANGE_STREAM_MAX_SUBSCRIBERS: '2' })
  const first = await subscribe(t, `${url}/active/events`)
  await subscribe(t, `${url}/active/events?country=NI`)
  const refused = await subscribe(t, `${url}/active/events`)
  t.equal(refused.status, 503)
  t.equal(refused.headers['retry-after'], '5')
  await refused.ended
  t.same(JSON.parse(refused.text), { statusCode: 503, error: 'Service Unavailable', message: 'This instance streams to 2 subscribers already; try again later' })
  first.close()
  await until(async () => app.changeStream.size === 1, 'the closed stream\'s place is freed')
  t.equal((await subscribe(t, `${url}/active/events`)).status, 200)
})

t.test('a change held back by an id that commits late is streamed after it, in id order', async t => {
  const { app, url } = await listening(t)
  const stream = await subscribe(t, `${url}/active/events`)
  await stream.waitFor('hello')
  const sql = await holdNextId(t, app)
  await put(app, 'NI', 'Granada', true)
  await new Promise(resolve => setTimeout(resolve, 2 * app.config.CACHE_SYNC_INTERVAL_MS))
  t.same(changesIn(stream.events), [], 'the committed change waits behind the open one')
  await sql.commit()
  const changes = changesIn(await stream.waitFor('change', 2))
  t.same(changes.map(change => change.city), ['Rivas', 'Granada'], 'both, in id order')
  t.equal(changes[1]!.id, changes[0]!.id + 1)
})

t.test('an id that never commits holds the next ones back for CHANGE_STREAM_GAP_WAIT_MS only', async t => {
  const { app, url } = await listening(t, { CHANGE_STREAM_GAP_WAIT_MS: '500', CACHE_SYNC_INTERVAL_MS: '100' })
  const stream = await subscribe(t, `${url}/active/events`)
  await stream.waitFor('hello')
  const sql = await holdNextId(t, app)
  await sql.rollback()
  const started = performance.now()
  await put(app, 'NI', 'Granada', true)
  const [event] = await stream.waitFor('change', 1, 5000)
  t.ok(event!.at - started >= 450, `held back for the gap wait (${Math.round(event!.at - started)} ms)`)
  t.same(changesIn(stream.events).map(change => change.city), ['Granada'], 'the rolled-back change was never streamed')
  t.equal(await appMetricSample(app, 'nicaventas_change_stream_ids_given_up_total'), 1, 'operators see the id given up in /metrics')
})

t.test('by default the gap wait covers a write that takes its whole write budget (twice DATABASE_WRITE_TIMEOUT_MS)', async t => {
  // A write budget of 4 s: a transaction that commits 6 s after taking its id is within twice that.
  const { app, url } = await listening(t, { DATABASE_WRITE_TIMEOUT_MS: '4000', CACHE_SYNC_INTERVAL_MS: '200' })
  const stream = await subscribe(t, `${url}/active/events`)
  await stream.waitFor('hello')
  const sql = await holdNextId(t, app)
  await put(app, 'NI', 'Granada', true)
  await new Promise(resolve => setTimeout(resolve, 6000))
  await sql.commit()
  const changes = changesIn(await stream.waitFor('change', 2, 5000))
  t.same(changes.map(change => change.city), ['Rivas', 'Granada'], 'the slow change is streamed, before the one it held back')
})

t.test('a bulk change is one event per city, announced at once like a single write', async t => {
  // A sync interval of a minute: only the write's announcement can bring the events this soon.
  const { app, url } = await listening(t, { CACHE_SYNC_INTERVAL_MS: '60000' })
  const stream = await subscribe(t, `${url}/active/events?country=NI`)
  await stream.waitFor('hello')
  const started = performance.now()
  const response = await app.inject({ method: 'PUT', url: '/active/cities', headers: AUTH, payload: { country: 'NI', active: true, cities: ['León', 'Granada', 'Masaya'] } })
  t.equal(response.statusCode, 200)
  const events = await stream.waitFor('change', 3, 2000)
  t.ok(events[2]!.at - started < 2000, `within ${Math.round(events[2]!.at - started)} ms`)
  t.same(changesIn(events).map(change => [change.city, change.active]).sort(), [['Granada', true], ['León', true], ['Masaya', true]])
})

t.test('a change whose transaction commits just after an instance started is streamed by it', async t => {
  const first = await build(t)
  // Takes an id before the instance starts, and commits after: below the newest id the instance starts from.
  const sql = await holdNextId(t, first)
  await put(first, 'NI', 'Granada', true)
  const { url } = await listening(t, { DATABASE_NAME: first.config.DATABASE_NAME, CACHE_NAMESPACE: first.config.CACHE_NAMESPACE })
  const stream = await subscribe(t, `${url}/active/events`)
  await stream.waitFor('hello')
  await sql.commit()
  const changes = changesIn(await stream.waitFor('change', 2, 5000))
  t.same(changes.map(change => change.city), ['Rivas', 'Granada'], 'the late change, then the one it held back, in id order')
})
