import t from 'tap'
import { AUTH, build } from './helper.ts'

const get = (query: string) => ({ method: 'GET' as const, url: `/active?${query}` })

t.test('the first read misses and fills the cache, the next one hits', async t => {
  const app = await build(t)
  const first = await app.inject(get('country=NI&city=Managua'))
  t.equal(first.statusCode, 200)
  t.same(first.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  const second = await app.inject(get('country=NI&city=Managua'))
  t.same(second.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' })
})

t.test('any spelling of a location finds it, answers with the stored spelling and shares its cache entry', async t => {
  const app = await build(t)
  const spellings = ['city=León&country=NI', 'city=leon&country=ni', 'city=%20%20LEON%20&country=Ni', 'city=le%C3%B3n&country=nI', 'city=LE%C3%93N&country=NI']
  const answers = []
  for (const query of spellings) answers.push((await app.inject(get(query))).json())
  t.same(answers[0], { active: false, country: 'NI', city: 'León', redis_cache: 'miss' })
  for (const answer of answers.slice(1)) t.same(answer, { active: false, country: 'NI', city: 'León', redis_cache: 'hit' })
})

t.test('an unknown location is 404 with the service\'s message, also when cached as unknown', async t => {
  const app = await build(t)
  for (let attempt = 0; attempt < 2; attempt++) {
    const response = await app.inject(get('country=NI&city=Chinandega'))
    t.equal(response.statusCode, 404)
    t.same(response.json(), { statusCode: 404, error: 'Not Found', message: 'No existen datos Asociados' })
  }
  // A known city in another country is another location.
  t.equal((await app.inject(get('country=CR&city=Managua'))).statusCode, 404)
})

t.test('locations whose joined names look alike never share a cache entry', async t => {
  const app = await build(t)
  // With the Flask service's key (country + '-' + city) these two collided as "NI-San-Juan".
  for (const city of ['San-Juan', 'San Juan']) {
    const response = await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: { country: 'NI', city, active: city === 'San Juan' } })
    t.equal(response.statusCode, 201)
  }
  t.equal((await app.inject(get('country=NI&city=San-Juan'))).json().active, false)
  t.equal((await app.inject(get('country=NI&city=San%20Juan'))).json().active, true)
  t.equal((await app.inject(get('country=NI&city=San-Juan'))).json().redis_cache, 'hit')
  t.equal((await app.inject(get('country=NI&city=San-Juan'))).json().active, false)
})

t.test('invalid query strings are 400 and the message names the parameter', async t => {
  const app = await build(t)
  const cases: Array<[string, string, RegExp]> = [
    ['missing country', 'city=Managua', /country/],
    ['missing city', 'country=NI', /city/],
    ['no parameters at all', '', /country|city/],
    ['empty country', 'country=&city=Managua', /country/],
    ['empty city', 'country=NI&city=', /city/],
    ['blank city', 'country=NI&city=%20%20%20', /city/],
    ['over-long city', `country=NI&city=${'a'.repeat(101)}`, /city/],
    ['over-long country', 'country=NIC&city=Managua', /country/],
    ['country that is not a code', 'country=N1&city=Managua', /country/],
    ['unassigned country code', 'country=ZZ&city=Managua', /country/],
    ['user-assigned country code', 'country=XK&city=Pristina', /country/],
    ['SQL in the city', 'country=NI&city=Managua%27%20OR%20%271%27%3D%271', /city/],
    ['SQL comment in the city', 'country=NI&city=Managua%3B%20DROP%20TABLE%20locations%3B--', /city/],
    ['markup in the city', 'country=NI&city=%3Cscript%3E', /city/],
    ['cache-key punctuation in the city', 'country=NI&city=Managua%7D%3Aentry', /city/],
    ['control characters in the city', 'country=NI&city=Mana%00gua', /city/],
    ['repeated country', 'country=NI&country=CR&city=Managua', /country/],
    ['repeated city', 'country=NI&city=Managua&city=Leon', /city/],
    ['unknown parameter', 'country=NI&city=Managua&admin=1', /additional/]
  ]
  for (const [name, query, parameter] of cases) {
    const response = await app.inject(get(query))
    t.equal(response.statusCode, 400, name)
    const body = response.json()
    t.equal(body.error, 'Bad Request', name)
    t.match(body.message, parameter, name)
  }
  t.equal((await app.inject(get('country=NI&city=Managua'))).json().active, true, 'the table survived')
})

t.test('the longest valid city name is accepted', async t => {
  const app = await build(t)
  const response = await app.inject(get(`country=NI&city=${'a'.repeat(100)}`))
  t.equal(response.statusCode, 404)
})
