import type { FastifyInstance } from 'fastify'
import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { AUTH, build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'

const bulk = (payload: object, headers: Record<string, string> = {}) =>
  ({ method: 'PUT' as const, url: '/active/cities', headers: { ...AUTH, ...headers }, payload })

const active = async (app: FastifyInstance, city: string) => (await app.inject({ url: `/active?country=NI&city=${encodeURIComponent(city)}` })).json()

async function listed (app: FastifyInstance, country = 'NI'): Promise<Record<string, boolean>> {
  const body = (await app.inject({ url: `/active/cities?country=${country}` })).json() as { cities: Array<{ city: string, active: boolean }> }
  return Object.fromEntries(body.cities.map(({ city, active }) => [city, active]))
}

const changesOf = async (sql: Awaited<ReturnType<typeof directSql>>, requestId: string) => {
  const [rows] = await sql.query<RowDataPacket[]>(
    'SELECT country, city, action, active, previous, version, operator FROM location_changes WHERE request_id = ? ORDER BY city_key', [requestId])
  return rows.map(row => ({
    country: String(row.country),
    city: String(row.city),
    action: String(row.action),
    active: Boolean(row.active),
    previous: Boolean(row.previous),
    version: Number(row.version),
    operator: String(row.operator)
  }))
}

t.test('a bulk change switches the named cities matched like GET /active, and only those whose flag differs', async t => {
  const app = await build(t)
  const sql = await directSql(t, app)
  // Cached before the write: the answer must show the change, so the write has invalidated them.
  t.equal((await active(app, 'Managua')).active, true)
  t.equal((await listed(app)).Managua, true)
  const [[before]] = await sql.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM cache_invalidations WHERE country = 'NI'")

  const response = await app.inject(bulk({ country: 'ni', active: true, cities: ['  león ', 'GRANADA', 'Managua', 'Leon'] }, { 'x-request-id': 'bulk-on-1' }))
  t.equal(response.statusCode, 200)
  t.same(response.json(), { result: 'Ok', country: 'NI', active: true, changed: 2, cities: ['Granada', 'León'] },
    'Managua was already active: it is not counted; León named twice (with and without its accent) is one city')
  t.equal(response.headers['cache-control'], 'no-store')
  t.same(await changesOf(sql, 'bulk-on-1'), [
    { country: 'NI', city: 'Granada', action: 'update', active: true, previous: false, version: 2, operator: 'operator' },
    { country: 'NI', city: 'León', action: 'update', active: true, previous: false, version: 2, operator: 'operator' }
  ], 'one history row per changed city, with the operator and the request id')
  const [[after]] = await sql.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM cache_invalidations WHERE country = 'NI'")
  t.equal(Number(after?.n) - Number(before?.n), 2, 'and one invalidation record each')
  const [[managua]] = await sql.query<RowDataPacket[]>("SELECT version FROM locations WHERE country = 'NI' AND city_key = 'managua'")
  t.equal(Number(managua?.version), 1, 'the city already at the flag keeps its version')
  t.same(await listed(app), { Granada: true, León: true, Managua: true, Masaya: false, Rivas: false }, 'the country\'s list shows it at once')

  const off = await app.inject(bulk({ country: 'NI', active: 'False', cities: ['Managua'] }, { 'x-request-id': 'bulk-off-1' }))
  t.same(off.json(), { result: 'Ok', country: 'NI', active: false, changed: 1, cities: ['Managua'] }, 'the Flask service\'s "False" is accepted too')
  t.same(await active(app, 'Managua'), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' }, 'the cached answer was invalidated before the 200')

  const again = await app.inject(bulk({ country: 'NI', active: false, cities: ['Managua'] }, { 'x-request-id': 'bulk-off-2' }))
  t.same(again.json(), { result: 'Ok', country: 'NI', active: false, changed: 0, cities: [] }, 'nothing left to change')
  t.same(await changesOf(sql, 'bulk-off-2'), [], 'and no history row')
})

t.test('a bulk change naming an unknown city is a 404 naming it, and changes nothing', async t => {
  const app = await build(t)
  const sql = await directSql(t, app)
  const response = await app.inject(bulk({ country: 'NI', active: true, cities: ['Granada', 'Atlántida', 'León', 'Ciudad  Perdida'] }, { 'x-request-id': 'bulk-unknown' }))
  t.equal(response.statusCode, 404)
  t.same(response.json(), {
    statusCode: 404,
    error: 'Not Found',
    message: 'No such cities in NI: Atlántida, Ciudad Perdida; nothing was changed'
  })
  t.same(await changesOf(sql, 'bulk-unknown'), [], 'no history row')
  t.same(await listed(app), { Granada: false, León: false, Managua: true, Masaya: false, Rivas: false }, 'no city changed')
  const capital = await app.inject(bulk({ country: 'HN', active: true, cities: ['Managua'] }))
  t.equal(capital.statusCode, 404, 'a city of another country is unknown in this one')
  t.match(capital.json().message, /^No such cities in HN: Managua;/)
})

t.test('without cities, a bulk change switches the whole country and nothing else', async t => {
  const app = await build(t)
  const sql = await directSql(t, app)
  const hnBefore = await listed(app, 'HN')
  const response = await app.inject(bulk({ country: 'NI', active: true }, { 'x-request-id': 'bulk-country' }))
  t.same(response.json(), { result: 'Ok', country: 'NI', active: true, changed: 4, cities: ['Granada', 'León', 'Masaya', 'Rivas'] })
  t.same(await listed(app), { Granada: true, León: true, Managua: true, Masaya: true, Rivas: true })
  t.same(await listed(app, 'HN'), hnBefore, 'another country is untouched')
  t.equal((await changesOf(sql, 'bulk-country')).length, 4)
  const empty = await app.inject(bulk({ country: 'AQ', active: true }))
  t.same(empty.json(), { result: 'Ok', country: 'AQ', active: true, changed: 0, cities: [] }, 'a country without cities changes none')
})

t.test('a bulk body is validated like the single writes', async t => {
  const app = await build(t)
  const cases: Array<[object, RegExp]> = [
    [{ country: 'NI', active: true, cities: [] }, /cities/],
    [{ country: 'XX', active: true }, /country/],
    [{ country: 'NI', active: 'yes' }, /active/],
    [{ country: 'NI', active: true, cities: ['Managua', ''] }, /cities/],
    [{ country: 'NI', active: true, city: 'Managua' }, /additional/]
  ]
  for (const [payload, message] of cases) {
    const response = await app.inject(bulk(payload))
    t.equal(response.statusCode, 400, JSON.stringify(payload))
    t.match(response.json().message, message)
  }
  t.equal((await app.inject({ ...bulk({ country: 'NI', active: true }), headers: {} })).statusCode, 401, 'a bearer token is needed')
})

t.test('a bulk change may name thousands of cities: its body may be larger than a single write\'s', async t => {
  const app = await build(t)
  const cities = Array.from({ length: 3000 }, (_, index) => `Ciudad Número ${index}`)
  const sql = await directSql(t, app)
  await sql.query('INSERT INTO locations (country, city, city_key, active) VALUES ?', [cities.map(city => ['CR', city, city.toLowerCase().replace('ú', 'u'), 0])])
  const response = await app.inject(bulk({ country: 'CR', active: true, cities }))
  t.equal(response.statusCode, 200)
  t.equal(response.json().changed, 3000)
  t.ok(JSON.stringify({ country: 'CR', active: true, cities }).length > 4096, 'a body a single write would refuse')
})

t.test('a bulk change that MySQL cannot lock in time is a 503 with Retry-After, and nothing changed', async t => {
  const app = await build(t, { DATABASE_WRITE_TIMEOUT_MS: '2000' })
  const sql = await directSql(t, app)
  const holder = await directSql(t, app)
  t.equal((await active(app, 'Granada')).active, false)
  await holder.beginTransaction()
  await holder.query("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'managua' FOR UPDATE")
  for (const payload of [{ country: 'NI', active: true, cities: ['Granada', 'Managua'] }, { country: 'NI', active: true }]) {
    const response = await app.inject(bulk(payload, { 'x-request-id': 'bulk-locked' }))
    t.equal(response.statusCode, 503, JSON.stringify(payload))
    t.ok(Number(response.headers['retry-after']) >= 1, 'with Retry-After')
  }
  await holder.rollback()
  t.same(await changesOf(sql, 'bulk-locked'), [], 'no history row')
  t.equal((await active(app, 'Granada')).active, false, 'Granada was not switched')
})

t.test('bulk changes and single PUTs racing on the same cities: no 500, each answer says what its transaction did, the history chains', async t => {
  const app = await build(t)
  const sql = await directSql(t, app)
  const towns = Array.from({ length: 24 }, (_, index) => `Pueblo ${index}`)
  await sql.query('INSERT INTO locations (country, city, city_key, active) VALUES ?', [towns.map(town => ['NI', town, town.toLowerCase(), 0])])
  const requests = Array.from({ length: 48 }, (_, index) => {
    const requestId = `race-${index}`
    const flag = index % 3 === 0
    if (index % 4 === 0) {
      const cities = index % 8 === 0 ? undefined : towns.filter((_, town) => town % 2 === index % 3 % 2)
      return { requestId, kind: 'bulk', send: bulk({ country: 'NI', active: flag, ...(cities && { cities }) }, { 'x-request-id': requestId }) }
    }
    const payload = { country: 'NI', city: towns[(index * 7) % towns.length], active: flag }
    return { requestId, kind: 'single', send: { method: 'PUT' as const, url: '/active', headers: { ...AUTH, 'x-request-id': requestId }, payload } }
  })
  const answers = await Promise.all(requests.map(async request => ({ ...request, response: await app.inject(request.send) })))
  const statuses = answers.map(({ kind, response }) => `${kind} ${response.statusCode}`)
  t.comment(JSON.stringify(statuses.reduce<Record<string, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {})),
    JSON.stringify(app.availabilityStore.rolledBackWrites))
  t.notOk(statuses.some(status => !/ (200|503)$/.test(status)), 'every answer is 200, or 503 for a write MySQL kept rolling back')
  t.ok(statuses.filter(status => status.endsWith(' 200')).length >= 40, 'the retries let nearly all through')

  for (const { requestId, kind, response } of answers) {
    const rows = await changesOf(sql, requestId)
    if (response.statusCode === 503) {
      t.same(rows, [], `${requestId}: refused, and nothing of it is in the history`)
    } else if (kind === 'bulk') {
      t.same(rows.map(row => row.city).sort(), [...response.json().cities].sort(), `${requestId}: its history rows are the cities it said it changed`)
    }
  }
  const [history] = await sql.query<RowDataPacket[]>(
    "SELECT city_key, active, previous, version FROM location_changes WHERE country = 'NI' AND city_key LIKE 'pueblo %' ORDER BY city_key, version")
  const [current] = await sql.query<RowDataPacket[]>("SELECT city, city_key, active, version FROM locations WHERE country = 'NI' AND city_key LIKE 'pueblo %'")
  for (const town of current) {
    const chain = history.filter(row => row.city_key === town.city_key)
    const broken = chain.slice(1).filter((row, index) => row.previous !== chain[index]?.active || Number(row.version) !== Number(chain[index]?.version) + 1)
    t.same(broken, [], `${town.city}: each change starts from the one before, one version up`)
    t.equal(chain.at(-1)?.active, town.active, `${town.city}: the last change is the current flag`)
    t.equal((await active(app, town.city)).active, town.active === 1, `${town.city}: and GET /active answers it`)
  }
})

t.test('a bulk change that MySQL picks as a deadlock\'s victim is sent again, and goes through', async t => {
  const app = await build(t)
  const other = await directSql(t, app)
  // The other transaction has written much, so MySQL rolls back the bulk change, the lighter one.
  await other.beginTransaction()
  await other.query('INSERT INTO locations (country, city, city_key, active) VALUES ?', [Array.from({ length: 200 }, (_, index) => ['CR', `Peso ${index}`, `peso ${index}`, 0])])
  await other.query("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'rivas' FOR UPDATE")
  // The bulk change locks Granada, then waits for Rivas...
  const answer = app.inject(bulk({ country: 'NI', active: true, cities: ['Rivas', 'Granada'] }, { 'x-request-id': 'bulk-deadlock' }))
  await new Promise(resolve => setTimeout(resolve, 300))
  // ...while the other transaction, holding Rivas, asks for Granada: a deadlock.
  await other.query("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'granada' FOR UPDATE")
  await other.rollback()
  const response = await answer
  t.equal(response.statusCode, 200)
  t.same(response.json().cities, ['Granada', 'Rivas'])
  t.equal(app.availabilityStore.rolledBackWrites.retried, 1, 'MySQL rolled it back once, and it was sent again')
  const sql = await directSql(t, app)
  t.same((await changesOf(sql, 'bulk-deadlock')).map(row => row.city), ['Granada', 'Rivas'], 'one history row each, from the attempt that committed')
})
