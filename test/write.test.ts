import t from 'tap'
import { AUTH, build } from './helper.ts'

const read = (city: string, country = 'NI') => ({ method: 'GET' as const, url: `/active?country=${country}&city=${encodeURIComponent(city)}` })
const write = (method: 'PUT' | 'POST', payload: unknown) => ({ method, url: '/active', headers: AUTH, payload: payload as object })

t.test('PUT switches a city and the next read sees it, from MySQL first and then from the cache', async t => {
  const app = await build(t)
  t.equal((await app.inject(read('Managua'))).json().redis_cache, 'miss')
  t.equal((await app.inject(read('Managua'))).json().redis_cache, 'hit')

  const update = await app.inject(write('PUT', { country: 'NI', city: 'Managua', active: false }))
  t.equal(update.statusCode, 200)
  t.same(update.json(), { result: 'Ok', update: { country: 'NI', city: 'Managua', active: false } })

  t.same((await app.inject(read('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.same((await app.inject(read('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'hit' })
})

t.test('a write through one spelling invalidates what another spelling cached', async t => {
  const app = await build(t)
  t.equal((await app.inject(read('León'))).json().active, false)
  t.equal((await app.inject(read('leon'))).json().redis_cache, 'hit')

  const update = await app.inject(write('PUT', { country: 'ni', city: ' LEON ', active: true }))
  t.same(update.json(), { result: 'Ok', update: { country: 'NI', city: 'León', active: true } }, 'answers with the stored spelling')

  t.same((await app.inject(read('León'))).json(), { active: true, country: 'NI', city: 'León', redis_cache: 'miss' })
})

t.test('PUT of the value a city already has still succeeds', async t => {
  const app = await build(t)
  const response = await app.inject(write('PUT', { country: 'NI', city: 'Managua', active: true }))
  t.equal(response.statusCode, 200)
  t.same(response.json().update, { country: 'NI', city: 'Managua', active: true })
})

t.test('PUT of an unknown location is 404 and creates nothing', async t => {
  const app = await build(t)
  const response = await app.inject(write('PUT', { country: 'NI', city: 'Chinandega', active: true }))
  t.equal(response.statusCode, 404)
  t.same(response.json(), { statusCode: 404, error: 'Not Found', message: 'No existen datos Asociados' })
  t.equal((await app.inject(read('Chinandega'))).statusCode, 404)
})

t.test('"True"/"False" strings in any case are accepted, and answers carry booleans', async t => {
  const app = await build(t)
  for (const [active, expected] of [['False', false], ['TRUE', true], ['false', false], ['tRuE', true]] as const) {
    const response = await app.inject(write('PUT', { country: 'NI', city: 'Granada', active }))
    t.equal(response.statusCode, 200, active)
    t.equal(response.json().update.active, expected, active)
    t.equal((await app.inject(read('Granada'))).json().active, expected, active)
  }
})

t.test('POST registers a city, 201, and clears a cached "not found" at once', async t => {
  const app = await build(t)
  t.equal((await app.inject(read('Chinandega'))).statusCode, 404)
  t.equal((await app.inject(read('Chinandega'))).statusCode, 404, 'now cached as unknown')

  const created = await app.inject(write('POST', { country: 'NI', city: '  Chinandega ', active: 'True' }))
  t.equal(created.statusCode, 201)
  t.same(created.json(), { result: 'Ok', Insert: { country: 'NI', city: 'Chinandega', active: true } })

  t.same((await app.inject(read('chinandega'))).json(), { active: true, country: 'NI', city: 'Chinandega', redis_cache: 'miss' })
})

t.test('POST of an existing location, in any spelling, is 409', async t => {
  const app = await build(t)
  for (const city of ['Managua', 'MANAGUA', 'León', 'Leon']) {
    const response = await app.inject(write('POST', { country: 'ni', city, active: true }))
    t.equal(response.statusCode, 409, city)
    t.equal(response.json().error, 'Conflict', city)
  }
  t.equal((await app.inject(read('León'))).json().active, false, 'the existing row is unchanged')
})

t.test('DELETE removes a city, 204, invalidates it, and is 404 the second time', async t => {
  const app = await build(t)
  t.equal((await app.inject(read('Rivas'))).statusCode, 200)
  t.equal((await app.inject(read('Rivas'))).json().redis_cache, 'hit')

  const removed = await app.inject({ method: 'DELETE', url: '/active?country=NI&city=rivas', headers: AUTH })
  t.equal(removed.statusCode, 204)
  t.equal(removed.body, '')
  t.equal((await app.inject(read('Rivas'))).statusCode, 404)

  const again = await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Rivas', headers: AUTH })
  t.equal(again.statusCode, 404)
})

t.test('invalid bodies are rejected with the right status and name the field', async t => {
  const app = await build(t)
  const valid = { country: 'NI', city: 'Managua', active: false }
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['missing active', { country: 'NI', city: 'Managua' }, 400, /active/],
    ['missing city', { country: 'NI', active: true }, 400, /city/],
    ['missing country', { city: 'Managua', active: true }, 400, /country/],
    ['active as a number', { ...valid, active: 1 }, 400, /active/],
    ['active as another word', { ...valid, active: 'yes' }, 400, /active/],
    ['active as null', { ...valid, active: null }, 400, /active/],
    ['city as a number', { ...valid, city: 42 }, 400, /city/],
    ['city as an array', { ...valid, city: ['Managua'] }, 400, /city/],
    ['over-long city', { ...valid, city: 'x'.repeat(101) }, 400, /city/],
    ['SQL in the city', { ...valid, city: "Managua'; DROP TABLE locations; --" }, 400, /city/],
    ['unassigned country', { ...valid, country: 'ZZ' }, 400, /country/],
    ['unknown field', { ...valid, admin: true }, 400, /additional/],
    ['an array body', [valid], 400, /body/]
  ]
  for (const [name, payload, status, field] of cases) {
    const response = await app.inject(write('PUT', payload))
    t.equal(response.statusCode, status, name)
    t.match(response.json(), { statusCode: status, error: 'Bad Request', message: field }, name)
  }
  t.equal((await app.inject(read('Managua'))).json().active, true, 'nothing was written')
})

t.test('__proto__ in a body is refused, not merged', async t => {
  const app = await build(t)
  const response = await app.inject({
    method: 'PUT',
    url: '/active',
    headers: { ...AUTH, 'content-type': 'application/json' },
    payload: '{"country":"NI","city":"Managua","active":false,"__proto__":{"active":true}}'
  })
  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'Bad Request')
  t.equal((await app.inject(read('Managua'))).json().active, true)
})

t.test('non-JSON, malformed and oversized bodies get 415, 400 and 413', async t => {
  const app = await build(t)
  const send = (contentType: string, payload: string) => app.inject({
    method: 'POST', url: '/active', headers: { ...AUTH, 'content-type': contentType }, payload
  })
  const form = await send('application/x-www-form-urlencoded', 'country=NI&city=Jinotega&active=true')
  t.equal(form.statusCode, 415)
  t.equal(form.json().error, 'Unsupported Media Type')
  t.equal((await send('text/plain', '{"country":"NI","city":"Jinotega","active":true}')).statusCode, 415)

  const scalar = await send('application/json', '"Jinotega"')
  t.equal(scalar.statusCode, 400)
  t.match(scalar.json(), { error: 'Bad Request', message: /body must be object/ })

  const malformed = await send('application/json', '{"country":"NI",')
  t.equal(malformed.statusCode, 400)
  t.match(malformed.json(), { error: 'Bad Request', message: /JSON/ })

  const oversized = await send('application/json', JSON.stringify({ country: 'NI', city: 'Jinotega', active: true, padding: 'x'.repeat(10_000) }))
  t.equal(oversized.statusCode, 413)
  t.equal(oversized.json().error, 'Payload Too Large')
  t.equal((await app.inject(read('Jinotega'))).statusCode, 404, 'nothing was created')
})
