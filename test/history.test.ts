import t from 'tap'
import { build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'

const ANA = { authorization: 'Bearer token-of-ana' }
const BOB = { authorization: 'Bearer token-of-bob' }
const TOKENS = { API_TOKENS: 'ana:token-of-ana,bob:token-of-bob,ana:token-of-ana-rotated' }

interface Change {
  action: string
  active: boolean | null
  previous: boolean | null
  operator: string | null
  requestId: string | null
  at: string
}

const history = (query: string, headers: Record<string, string> = ANA) => ({ method: 'GET' as const, url: `/active/history?${query}`, headers })
const changesIn = (body: { changes: Change[] }) => body.changes.map(({ action, active, previous, operator, requestId }) => ({ action, active, previous, operator, requestId }))

t.test('every change through the API is recorded with its operator and request id, newest first', async t => {
  const app = await build(t, TOKENS)
  const started = Date.now()
  const send = (method: 'POST' | 'PUT', headers: Record<string, string>, requestId: string, active: boolean) =>
    app.inject({ method, url: '/active', headers: { ...headers, 'x-request-id': requestId }, payload: { country: 'NI', city: 'Chinandega', active } })

  t.equal((await send('POST', ANA, 'req-create', true)).statusCode, 201)
  t.equal((await send('PUT', BOB, 'req-switch-off', false)).statusCode, 200)
  t.equal((await send('PUT', { authorization: 'Bearer token-of-ana-rotated' }, 'req-same-value', false)).statusCode, 200, 'a PUT of the value it has')
  t.equal((await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Chinandega', headers: { ...ANA, 'x-request-id': 'req-remove' } })).statusCode, 204)

  const response = await app.inject(history('country=ni&city=%20CHINANDEGA%20', BOB))
  t.equal(response.statusCode, 200)
  const body = response.json()
  t.equal(body.country, 'NI')
  t.equal(body.city, 'Chinandega', 'a deleted location keeps its history, with its last spelling')
  t.same(changesIn(body), [
    { action: 'delete', active: null, previous: false, operator: 'ana', requestId: 'req-remove' },
    { action: 'update', active: false, previous: true, operator: 'bob', requestId: 'req-switch-off' },
    { action: 'create', active: true, previous: null, operator: 'ana', requestId: 'req-create' }
  ], 'a PUT that changes nothing is no change; a rotated token keeps its name')
  for (const change of body.changes as Change[]) {
    t.match(change.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'UTC with milliseconds')
    const at = Date.parse(change.at)
    t.ok(at >= started - 1000 && at <= Date.now() + 1000, `${change.at} is the time of the change`)
  }
  t.ok(Date.parse(body.changes[0].at) >= Date.parse(body.changes[2].at), 'newest first')

  const limited = await app.inject(history('country=NI&city=Chinandega&limit=1'))
  t.same(changesIn(limited.json()), changesIn(body).slice(0, 1), 'limit keeps the newest')
})

t.test('changes made in MySQL directly are recorded without an operator', async t => {
  const app = await build(t, TOKENS)
  const sql = await directSql(t, app)
  await sql.query("UPDATE locations SET active = 1 WHERE country = 'NI' AND city_key = 'granada'")
  await sql.query("UPDATE locations SET city = 'GRANADA' WHERE country = 'NI' AND city_key = 'granada'")
  await sql.query("INSERT INTO locations (country, city, city_key, active) VALUES ('NI', 'Ocotal', 'ocotal', 0)")
  await sql.query("DELETE FROM locations WHERE country = 'NI' AND city_key = 'ocotal'")

  const granada = (await app.inject(history('country=NI&city=granada'))).json()
  t.equal(granada.city, 'GRANADA', 'the current spelling')
  t.same(changesIn(granada), [
    { action: 'update', active: true, previous: true, operator: null, requestId: null },
    { action: 'update', active: true, previous: false, operator: null, requestId: null },
    { action: 'create', active: false, previous: null, operator: null, requestId: null }
  ], 'the demo data\'s insert is a change too, without an operator')
  t.same(changesIn((await app.inject(history('country=NI&city=Ocotal'))).json()), [
    { action: 'delete', active: null, previous: false, operator: null, requestId: null },
    { action: 'create', active: false, previous: null, operator: null, requestId: null }
  ])
})

t.test('a location with no recorded change answers an empty list; one that never existed is 404', async t => {
  const app = await build(t, TOKENS)
  const sql = await directSql(t, app)
  // As a location created before this version: its row, and no history.
  await sql.query("DELETE FROM location_changes WHERE country = 'NI' AND city_key = 'masaya'")
  t.same((await app.inject(history('country=NI&city=Masaya'))).json(), { country: 'NI', city: 'Masaya', changes: [] })

  const unknown = await app.inject(history('country=NI&city=Atlantis'))
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { statusCode: 404, error: 'Not Found', message: 'No existen datos Asociados' })
})

t.test('a write that fails leaves no history row', async t => {
  const app = await build(t, { ...TOKENS, DATABASE_WRITE_TIMEOUT_MS: '2000' })
  const before = changesIn((await app.inject(history('country=NI&city=Managua'))).json())

  const duplicate = await app.inject({ method: 'POST', url: '/active', headers: ANA, payload: { country: 'NI', city: 'managua', active: false } })
  t.equal(duplicate.statusCode, 409)
  const missing = await app.inject({ method: 'PUT', url: '/active', headers: ANA, payload: { country: 'NI', city: 'Atlantis', active: false } })
  t.equal(missing.statusCode, 404)
  t.equal((await app.inject(history('country=NI&city=Atlantis'))).statusCode, 404, 'a PUT of nothing records nothing')

  // Another transaction holds Managua's row: MySQL refuses the PUT (lock wait), and rolls it back with its trigger's rows.
  const holder = await directSql(t, app)
  await holder.query('BEGIN')
  await holder.query("SELECT * FROM locations WHERE country = 'NI' AND city_key = 'managua' FOR UPDATE")
  const locked = await app.inject({ method: 'PUT', url: '/active', headers: ANA, payload: { country: 'NI', city: 'Managua', active: false } })
  await holder.query('ROLLBACK')
  t.equal(locked.statusCode, 503)
  t.match(locked.json().message, /was not applied/)

  t.same(changesIn((await app.inject(history('country=NI&city=Managua'))).json()), before, 'no row for any of them')
})

t.test('the history needs a token, and checks its parameters', async t => {
  const app = await build(t, TOKENS)
  const anonymous = await app.inject({ method: 'GET', url: '/active/history?country=NI&city=Managua' })
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.headers['www-authenticate'], /^Bearer/)
  t.equal((await app.inject(history('country=NI&city=Managua', { authorization: 'Bearer not-a-token' }))).statusCode, 401)

  for (const query of ['country=NI&city=Managua&limit=0', 'country=NI&city=Managua&limit=501', 'country=NI&city=Managua&limit=ten', 'country=NI&city=Managua&limit=07', 'country=XX&city=Managua', 'country=NI']) {
    const response = await app.inject(history(query))
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().error, 'Bad Request')
  }
  for (const limit of ['1', '500']) {
    t.equal((await app.inject(history(`country=NI&city=Managua&limit=${limit}`))).statusCode, 200, `limit=${limit}`)
  }
})
