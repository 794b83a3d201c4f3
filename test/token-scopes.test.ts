import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { readConfig } from '../config/read-config.ts'
import { TOKEN, build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'

const NI_TEAM = 'token-of-the-nicaraguan-team-0123456789'
const AUDITOR = 'token-of-the-auditor-0123456789abcdef'
const SCOPED_TOKENS = `admin:${TOKEN},ni-team[NI+cr]:${NI_TEAM},auditor[read]:${AUDITOR}`
const as = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('an API_TOKENS entry may carry a scope: the countries it may change, or read alone', async t => {
  t.same(readConfig({ API_TOKENS: 'ana[NI]:one, ops [ ni + CR + ni ] : two,audit[READ]:three,four,bob:five' }).API_TOKENS, [
    { name: 'ana', token: 'one', countries: ['NI'] },
    { name: 'ops', token: 'two', countries: ['NI', 'CR'] },
    { name: 'audit', token: 'three', readOnly: true },
    { name: 'operator', token: 'four' },
    { name: 'bob', token: 'five' }
  ], 'codes in any case, spaces around the parts, each country once; unscoped entries are as before')
  t.same(readConfig({ API_TOKENS: 'ana:tok[NI]en' }).API_TOKENS, [{ name: 'ana', token: 'tok[NI]en' }], 'brackets after the ":" are the token\'s')
})

t.test('a malformed scope stops the start, naming the entry\'s position and never the token', async t => {
  const cases: Array<[string, number, RegExp]> = [
    ['ana:SECRET-A,bob[XX]:SECRET-B', 2, /item 1 of its scope is not an assigned ISO 3166-1 alpha-2 country code; write country codes joined by "\+"/],
    ['bob[NI+Nicaragua]:SECRET-B', 1, /item 2 of its scope is not an assigned/],
    ['bob[NI,CR]:SECRET-B', 2, /a scope is written name\[NI\+CR\]:token, right after the name, its countries joined by "\+" \(a "," ends the entry\)/],
    ['bob[]:SECRET-B', 1, /item 1 of its scope/],
    ['bob[NI++CR]:SECRET-B', 1, /item 2 of its scope/],
    ['bob[read+NI]:SECRET-B', 1, /"read" cannot be joined with countries/],
    ['bob[NI+read]:SECRET-B', 1, /"read" cannot be joined with countries/],
    ['[NI]:SECRET-B', 1, /empty name/],
    ['bob[NI]x:SECRET-B', 1, /a scope is written name\[NI\+CR\]:token/],
    ['b ob[NI]:SECRET-B', 1, /the name before ":" must be/],
    ['bob[NI]:', 1, /no token after its name/]
  ]
  for (const [API_TOKENS, position, reason] of cases) {
    let error: Error | undefined
    try {
      readConfig({ API_TOKENS })
    } catch (thrown) {
      error = thrown as Error
    }
    t.match(error, { name: 'ConfigurationError', message: new RegExp(`^API_TOKENS entry ${position}\\b`) }, API_TOKENS)
    t.match(error?.message, reason, API_TOKENS)
    t.notMatch(error?.message, /SECRET/, `${API_TOKENS}: no token in the message`)
  }
})

t.test('GET /auth/whoami tells a token\'s operator and scope', async t => {
  const app = await build(t, { API_TOKENS: SCOPED_TOKENS })
  const whoami = async (token: string) => (await app.inject({ url: '/auth/whoami', headers: as(token) })).json()
  t.same(await whoami(TOKEN), { operator: 'admin', countries: null, may_write: true })
  t.same(await whoami(NI_TEAM), { operator: 'ni-team', countries: ['NI', 'CR'], may_write: true })
  t.same(await whoami(AUDITOR), { operator: 'auditor', countries: null, may_write: false })
  const refused = await app.inject({ url: '/auth/whoami', headers: as('not-a-token') })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['cache-control'], 'no-store')
})

t.test('a write outside the token\'s countries is 403 naming the country, and changes nothing', async t => {
  const app = await build(t, { API_TOKENS: SCOPED_TOKENS })
  const sql = await directSql(t, app)
  const [[before]] = await sql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM location_changes')
  const refusals = [
    { method: 'PUT' as const, url: '/active', payload: { country: 'hn', city: 'Tegucigalpa', active: true } },
    { method: 'POST' as const, url: '/active', payload: { country: 'HN', city: 'La Ceiba', active: true } },
    { method: 'DELETE' as const, url: '/active?country=HN&city=Tegucigalpa' },
    { method: 'PUT' as const, url: '/active/cities', payload: { country: 'HN', active: true } },
    { method: 'PUT' as const, url: '/active/cities', payload: { country: 'HN', active: true, cities: ['Tegucigalpa'] } }
  ]
  for (const request of refusals) {
    const response = await app.inject({ ...request, headers: as(NI_TEAM) })
    t.equal(response.statusCode, 403, `${request.method} ${request.url}`)
    t.same(response.json(), { statusCode: 403, error: 'Forbidden', message: 'This token may not change cities in HN; it may change NI, CR' })
  }
  const [[after]] = await sql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM location_changes')
  t.equal(Number(after?.n), Number(before?.n), 'no change was made')
  t.equal((await app.inject({ url: '/active?country=HN&city=Tegucigalpa' })).json().active, false)

  const own = await app.inject({ method: 'PUT', url: '/active', headers: as(NI_TEAM), payload: { country: 'ni', city: 'Managua', active: false } })
  t.equal(own.statusCode, 200, 'its own countries, in any case, it may change')
  const [[row]] = await sql.query<RowDataPacket[]>("SELECT operator FROM location_changes WHERE city_key = 'managua' ORDER BY id DESC LIMIT 1")
  t.equal(row?.operator, 'ni-team', 'recorded under the name before its scope')
  t.equal((await app.inject({ method: 'PUT', url: '/active/cities', headers: as(NI_TEAM), payload: { country: 'CR', active: true } })).statusCode, 200)
  t.equal((await app.inject({ url: '/active/history?country=HN&city=Tegucigalpa', headers: as(NI_TEAM) })).statusCode, 200,
    'the history of any country it may read')
})

t.test('a read-only token may read the history and whoami, and every write is 403', async t => {
  const app = await build(t, { API_TOKENS: SCOPED_TOKENS })
  const writes = [
    { method: 'PUT' as const, url: '/active', payload: { country: 'NI', city: 'Managua', active: false } },
    { method: 'POST' as const, url: '/active', payload: { country: 'NI', city: 'Tipitapa', active: true } },
    { method: 'DELETE' as const, url: '/active?country=NI&city=Rivas' },
    { method: 'PUT' as const, url: '/active/cities', payload: { country: 'NI', active: false } }
  ]
  for (const request of writes) {
    const response = await app.inject({ ...request, headers: as(AUDITOR) })
    t.equal(response.statusCode, 403, `${request.method} ${request.url}`)
    t.equal(response.json().message, 'This token may only read the history; it may not change any city')
  }
  t.same((await app.inject({ url: '/active/cities?country=NI' })).json().cities.map((city: { active: boolean }) => city.active),
    [false, false, true, false, false], 'nothing changed')
  t.equal((await app.inject({ url: '/active/history?country=NI&city=Managua', headers: as(AUDITOR) })).statusCode, 200, 'the history')
  const whoami = await app.inject({ url: '/auth/whoami', headers: as(AUDITOR) })
  t.equal(whoami.statusCode, 200, 'whoami')
  t.same(whoami.json(), { operator: 'auditor', countries: null, may_write: false })
})

t.test('the failed-attempt limit still counts refused tokens; a 403 is no failed attempt', async t => {
  const app = await build(t, { API_TOKENS: SCOPED_TOKENS, AUTH_FAILURE_LIMIT: '3' })
  for (let attempt = 0; attempt < 5; attempt++) {
    const response = await app.inject({ method: 'PUT', url: '/active', headers: as(NI_TEAM), payload: { country: 'HN', city: 'Tegucigalpa', active: true } })
    t.equal(response.statusCode, 403, 'a valid token outside its scope is refused for its scope, not counted as a guess')
  }
  const statuses = []
  for (let attempt = 0; attempt < 4; attempt++) statuses.push((await app.inject({ url: '/auth/whoami', headers: as(`guess-${attempt}`) })).statusCode)
  t.same(statuses, [401, 401, 401, 429], 'three wrong tokens, then the client waits')
  t.equal((await app.inject({ url: '/auth/whoami', headers: as(NI_TEAM) })).statusCode, 429, 'even with a right one')
})
