import t from 'tap'
import { DOCS_CSP } from '../plugins/openapi.ts'
import { AUTH, build } from './helper.ts'

const API_CSP = "default-src 'none';frame-ancestors 'none'"

t.test('every answer, a cache hit included, says nosniff and may not be framed or run', async t => {
  const app = await build(t)
  const url = '/active?country=NI&city=Managua'
  await app.inject({ url })
  const hit = await app.inject({ url })
  t.equal(hit.json().redis_cache, 'hit')
  for (const [what, response] of [
    ['a hit', hit],
    ['history', await app.inject({ url: '/active/history?country=NI&city=Managua', headers: AUTH })],
    ['a write', await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active: false } })],
    ['an error', await app.inject({ url: '/active?country=NI' })],
    ['the root', await app.inject({ url: '/' })]
  ] as const) {
    t.match(response.headers, {
      'x-content-type-options': 'nosniff',
      'content-security-policy': API_CSP,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer'
    }, what)
    t.notOk(response.headers['strict-transport-security'], `${what}: no HSTS (TLS is terminated before the service, if at all)`)
    t.notOk(response.headers['access-control-allow-origin'], `${what}: no CORS`)
  }
})

t.test('history, write answers and every error say Cache-Control: no-store; a read keeps no-cache', async t => {
  const app = await build(t)
  const location = { country: 'NI', city: 'Jinotepe', active: true }
  const answers = {
    history: await app.inject({ url: '/active/history?country=NI&city=Managua', headers: AUTH }),
    'PUT 200': await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { ...location, city: 'Managua' } }),
    'POST 201': await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: location }),
    'POST 409': await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: location }),
    'DELETE 204': await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Jinotepe', headers: AUTH }),
    'PUT 401': await app.inject({ method: 'PUT', url: '/active', payload: location }),
    'GET 400': await app.inject({ url: '/active?country=NI' }),
    'GET 404': await app.inject({ url: '/active?country=NI&city=Nowhere' }),
    'unknown path 404': await app.inject({ url: '/nowhere' }),
    'PATCH 405': await app.inject({ method: 'PATCH', url: '/active' })
  }
  for (const [what, response] of Object.entries(answers)) {
    t.equal(response.headers['cache-control'], 'no-store', `${what} (${response.statusCode})`)
  }
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).headers['cache-control'], 'no-cache', 'a read may be kept, and revalidated')

  await app.mysql.query('DROP TABLE locations')
  const broken = await app.inject({ url: '/active?country=NI&city=Granada' })
  t.equal(broken.statusCode, 500)
  t.equal(broken.headers['cache-control'], 'no-store', 'a 500 too')
})

t.test('/docs has a policy that lets Swagger UI work and no page frame it', async t => {
  const app = await build(t)
  for (const url of ['/docs/', '/docs/static/swagger-initializer.js', '/docs/json']) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 200, url)
    t.equal(response.headers['content-security-policy'], DOCS_CSP, url)
    t.equal(response.headers['x-frame-options'], 'DENY', url)
    t.equal(response.headers['x-content-type-options'], 'nosniff', url)
  }
  t.match(DOCS_CSP, /frame-ancestors 'none'/)
  t.match(DOCS_CSP, /script-src 'self';/, 'scripts from the service only: no inline script, no eval')
  t.notMatch(DOCS_CSP, /upgrade-insecure-requests/, 'served over plain HTTP by compose')
})

t.test('a method a path does not take is 405 with Allow; an unknown path stays 404', async t => {
  const app = await build(t)
  const cases: Array<[string, string, string]> = [
    ['PATCH', '/active', 'GET, HEAD, PUT, POST, DELETE'],
    ['OPTIONS', '/active?country=NI&city=Managua', 'GET, HEAD, PUT, POST, DELETE'],
    ['OPTIONS', '/active/history', 'GET, HEAD'],
    ['POST', '/active/cities', 'GET, HEAD, PUT'],
    ['DELETE', '/health', 'GET, HEAD']
  ]
  for (const [method, url, allow] of cases) {
    const response = await app.inject({ method: method as 'PATCH', url, headers: { origin: 'https://elsewhere.example' } })
    t.equal(response.statusCode, 405, `${method} ${url}`)
    t.equal(response.headers.allow, allow, `${method} ${url}: Allow`)
    t.match(response.json(), { statusCode: 405, error: 'Method Not Allowed', message: `${method} is not allowed on ${url.split('?')[0]}; it takes ${allow}` })
    t.notOk(response.headers['access-control-allow-origin'], 'a preflight from another origin is not granted')
  }
  for (const [method, url] of [['PATCH', '/nowhere'], ['GET', '/active/'], ['OPTIONS', '/docs/static/nothing.js']]) {
    const response = await app.inject({ method: method as 'PATCH', url })
    t.equal(response.statusCode, 404, `${method} ${url}`)
    t.notOk(response.headers.allow)
    t.same(response.json(), { statusCode: 404, error: 'Not Found', message: `Route ${method}:${url} not found` })
  }
})
