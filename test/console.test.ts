import t from 'tap'
import { build } from './helper.ts'

t.test('the console is served with a page\'s policy, in its own context: the API keeps its own headers', async t => {
  const app = await build(t)
  const page = await app.inject({ url: '/console/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /<html lang="es">/, 'in Spanish')
  t.notMatch(page.body, /https?:\/\//, 'nothing loaded from another origin')
  const policy = String(page.headers['content-security-policy']).split(';')
  for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) {
    t.ok(policy.includes(directive), `the page's policy has ${directive}`)
  }
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.equal(page.headers['x-frame-options'], 'DENY')
  t.equal(page.headers['referrer-policy'], 'no-referrer')
  t.match((await app.inject({ url: '/console/console.js' })).headers['content-type'], /javascript/)
  t.equal((await app.inject({ url: '/console/console.js' })).headers['content-security-policy'], page.headers['content-security-policy'])

  const redirect = await app.inject({ url: '/console' })
  t.equal(redirect.statusCode, 301)
  t.equal(redirect.headers.location, '/console/')
  t.equal((await app.inject({ url: '/console/missing.js' })).statusCode, 404)

  const api = await app.inject({ url: '/active?country=NI&city=Managua' })
  t.equal(api.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'", 'the API\'s policy is unchanged')
  t.notOk(api.headers['cross-origin-opener-policy'], 'and none of the page\'s headers reach it')
})

t.test('GET /console/countries lists the assigned country codes the console offers', async t => {
  const app = await build(t)
  const response = await app.inject({ url: '/console/countries' })
  t.equal(response.statusCode, 200)
  const { countries } = response.json() as { countries: string[] }
  t.ok(countries.includes('NI') && countries.includes('HN'))
  t.notOk(countries.includes('XK'), 'a user-assigned code is not offered')
  t.same(countries, [...countries].sort(), 'sorted')
  t.ok(countries.length > 240)
})
