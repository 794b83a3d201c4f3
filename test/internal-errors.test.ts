import t from 'tap'
import { AUTH, build } from './helper.ts'

t.test('an unexpected database error is a 500 that names the request id and nothing else', async t => {
  const app = await build(t)
  // A real fault, not a mock: the table disappears under the running service.
  await app.mysql.query('DROP TABLE locations')

  for (const request of [
    { method: 'GET' as const, url: '/active?country=NI&city=Managua', headers: { 'x-request-id': 'support-ticket-1' } },
    { method: 'POST' as const, url: '/active', headers: { ...AUTH, 'x-request-id': 'support-ticket-2' }, payload: { country: 'NI', city: 'Boaco', active: true } }
  ]) {
    const response = await app.inject(request)
    t.equal(response.statusCode, 500, request.method)
    const body = response.json()
    t.same(Object.keys(body).sort(), ['error', 'message', 'statusCode'])
    t.equal(body.error, 'Internal Server Error')
    t.equal(body.message, `Unexpected error; quote request id ${request.headers['x-request-id']} when reporting it`)
    t.notMatch(response.body, /locations|SELECT|INSERT|doesn't exist|ER_|at /, 'no SQL, driver text or stack')
  }
})

t.test('a request id that could forge a log line is replaced by one of ours', async t => {
  const app = await build(t)
  await app.mysql.query('DROP TABLE locations')
  const forged = await app.inject({ url: '/active?country=NI&city=Managua', headers: { 'x-request-id': 'a"}\n{"level":60,"msg":"forged' } })
  t.equal(forged.statusCode, 500)
  t.match(forged.json().message, /^Unexpected error; quote request id [0-9a-f-]{36} when reporting it$/)
})
