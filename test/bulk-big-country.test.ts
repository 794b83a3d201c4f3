import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { AUTH, build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'

// A country of 5,000 cities switched at once, whole and by name: within the write budget, every
// city's history row written and the list and each location invalidated before the answer.

t.setTimeout(240_000)

const CITIES = 5000
const cityName = (index: number) => `Ciudad ${String(index).padStart(4, '0')}`

t.test('a country of 5,000 cities switches within the write budget, whole or by name, and every reader sees it at once', async t => {
  const app = await build(t)
  const sql = await directSql(t, app)
  const names = Array.from({ length: CITIES }, (_, index) => cityName(index))
  // Guatemala's capital (demo data) goes: the country is these 5,000 cities alone.
  await sql.query("DELETE FROM locations WHERE country = 'GT'")
  await sql.query('INSERT INTO locations (country, city, city_key, active) VALUES ?', [names.map(name => ['GT', name, name.toLowerCase(), 1])])
  const budgetMs = app.config.DATABASE_WRITE_TIMEOUT_MS

  // Cached first: a location and the list, so the answers below prove the invalidations.
  t.equal((await app.inject({ url: '/active?country=GT&city=Ciudad 4999' })).json().active, true)
  t.equal((await app.inject({ url: '/active/cities?country=GT&active=false' })).json().cities.length, 0)

  const timings: string[] = []
  for (const [label, payload, flag] of [
    ['whole country, off', { country: 'GT', active: false }, false],
    ['5,000 names, on', { country: 'GT', active: true, cities: names }, true],
    ['whole country, off again', { country: 'GT', active: false }, false]
  ] as const) {
    const started = performance.now()
    const requestId = label.replace(/\W+/g, '-')
    const response = await app.inject({ method: 'PUT', url: '/active/cities', headers: { ...AUTH, 'x-request-id': requestId }, payload })
    const ms = performance.now() - started
    timings.push(`${label}: ${ms.toFixed(0)} ms`)
    t.equal(response.statusCode, 200, label)
    t.equal(response.json().changed, CITIES, `${label}: every city changed`)
    t.ok(ms < budgetMs, `${label}: within the write budget (${budgetMs} ms)`)
    t.equal((await app.inject({ url: '/active?country=GT&city=Ciudad 4999' })).json().active, flag, `${label}: a location reads the new flag`)
    const page = (await app.inject({ url: `/active/cities?country=GT&active=${!flag}&limit=1` })).json()
    t.same(page.cities, [], `${label}: the list has no city left at the other flag`)
    const [[rows]] = await sql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM location_changes WHERE request_id = ?', [requestId])
    t.equal(Number(rows?.n), response.json().changed, `${label}: one history row per changed city`)
  }
  t.comment(`5,000 cities switched: ${timings.join('; ')}`)
})
