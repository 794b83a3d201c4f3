import t from 'tap'
import { AUTH, build } from './helper.ts'
import { freePort } from './support/port-free.ts'

t.test('with Redis unreachable from the start, the service starts, serves from MySQL and says it is degraded', async t => {
  const nothingListens = await freePort()
  const started = Date.now()
  const app = await build(t, { REDIS_PORT: String(nothingListens) })
  t.ok(Date.now() - started < 10_000, 'start-up does not wait for Redis')

  const read = await app.inject({ url: '/active?country=NI&city=Managua' })
  t.equal(read.statusCode, 200)
  t.same(read.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'bypass' })

  const write = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active: false } })
  t.equal(write.statusCode, 200, 'writes still commit')
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).json().active, false)

  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', mysql: 'ok', redis: 'degraded' })
})
