import t from 'tap'
import { build } from './helper.ts'

// The Flask service's README, replayed as its clients send it: curl's own headers included.
const SEED_TOKEN = '2234hj234h2kkjjh42kjj2b20asd6918'
const curlHeaders = { 'user-agent': 'curl/7.88.1', accept: '*/*' }

t.test('the Flask service\'s curl examples work, with the answers its README shows', async t => {
  const app = await build(t, { API_TOKENS: SEED_TOKEN })

  // curl "localhost:8000/active?city=Managua&country=NI"  (twice: miss, then hit)
  const first = await app.inject({ url: '/active?city=Managua&country=NI', headers: curlHeaders })
  t.equal(first.statusCode, 200)
  t.same(first.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  const second = await app.inject({ url: '/active?city=Managua&country=NI', headers: curlHeaders })
  t.same(second.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' })

  // curl -d '{"city":"Managua", "country":"NI", "active":"False"}' -H "Content-Type: application/json"
  //      -H "Authorization: Bearer 2234hj234h2kkjjh42kjj2b20asd6918" -X PUT localhost:8000/active
  const update = await app.inject({
    method: 'PUT',
    url: '/active',
    headers: { ...curlHeaders, 'content-type': 'application/json', authorization: `Bearer ${SEED_TOKEN}` },
    payload: '{"city":"Managua", "country":"NI", "active":"False"}'
  })
  t.equal(update.statusCode, 200)
  t.same(update.json(), { result: 'Ok', update: { country: 'NI', city: 'Managua', active: false } })

  const afterUpdate = await app.inject({ url: '/active?city=Managua&country=NI', headers: curlHeaders })
  t.same(afterUpdate.json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' })

  // The assignment's own example: /active?city=leon&country=ni
  const leon = await app.inject({ url: '/active?city=leon&country=ni', headers: curlHeaders })
  t.same(leon.json(), { active: false, country: 'NI', city: 'León', redis_cache: 'miss' })

  // The seed's info route.
  t.match((await app.inject({ url: '/', headers: curlHeaders })).json(), { id: 'Servicio NicaVentas - Disponibilidad de Ventas' })
})

t.test('the seed\'s token is not built in: without it in API_TOKENS it is refused', async t => {
  const app = await build(t)
  const response = await app.inject({
    method: 'PUT',
    url: '/active',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SEED_TOKEN}` },
    payload: '{"city":"Managua", "country":"NI", "active":"False"}'
  })
  t.equal(response.statusCode, 401)
})
