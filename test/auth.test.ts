import t from 'tap'
import { AUTH, SECOND_TOKEN, TOKEN, build } from './helper.ts'

const body = { country: 'NI', city: 'Managua', active: false }
const routes = [
  { method: 'PUT' as const, url: '/active', payload: body },
  { method: 'POST' as const, url: '/active', payload: { ...body, city: 'Jinotepe' } },
  { method: 'DELETE' as const, url: '/active?country=NI&city=Managua' }
]

t.test('every write route refuses a request without a valid bearer token, and changes nothing', async t => {
  const app = await build(t)
  const headers: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['empty header', { authorization: '' }],
    ['the scheme alone', { authorization: 'Bearer' }],
    ['the scheme and a space', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['lower-case scheme', { authorization: `bearer ${TOKEN}` }],
    ['a wrong token', { authorization: 'Bearer 2234hj234h2kkjjh42kjj2b20asd6918' }],
    ['a prefix of a valid token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['a valid token with more after it', { authorization: `Bearer ${TOKEN}x` }],
    ['two tokens', { authorization: `Bearer ${TOKEN}, Bearer ${SECOND_TOKEN}` }]
  ]
  for (const route of routes) {
    for (const [name, header] of headers) {
      const response = await app.inject({ ...route, headers: header })
      t.equal(response.statusCode, 401, `${route.method}: ${name}`)
      t.match(response.json(), { statusCode: 401, error: 'Unauthorized', message: String }, `${route.method}: ${name}`)
      t.match(response.headers['www-authenticate'], /^Bearer/)
    }
  }
  t.same((await app.inject({ url: '/active?country=NI&city=Managua' })).json().active, true, 'Managua is unchanged')
  t.equal((await app.inject({ url: '/active?country=NI&city=Jinotepe' })).statusCode, 404, 'nothing was created')
})

t.test('authentication comes before validation, so an anonymous caller learns nothing about the body', async t => {
  const app = await build(t)
  const response = await app.inject({ method: 'PUT', url: '/active', payload: { nonsense: true } })
  t.equal(response.statusCode, 401)
})

t.test('every configured token is accepted, so tokens rotate without downtime', async t => {
  const app = await build(t)
  for (const token of [TOKEN, SECOND_TOKEN]) {
    const response = await app.inject({ method: 'PUT', url: '/active', headers: { authorization: `Bearer ${token}` }, payload: body })
    t.equal(response.statusCode, 200)
  }
})

t.test('reads need no token', async t => {
  const app = await build(t)
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).statusCode, 200)
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua', headers: AUTH })).statusCode, 200)
})
