import t from 'tap'
import packageJson from '../package.json' with { type: 'json' }
import { build } from './helper.ts'

t.test('GET / describes the service and its version', async t => {
  const app = await build(t)
  const response = await app.inject({ url: '/' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { id: 'Servicio NicaVentas - Disponibilidad de Ventas', version: packageJson.version, status: 'En Desarrollo' })
})

t.test('GET / says when it runs in production', async t => {
  const app = await build(t, { NODE_ENV: 'production', DEMO_DATA: 'false' })
  t.equal((await app.inject({ url: '/' })).json().status, 'En Producción')
})

t.test('liveness and readiness with both servers up', async t => {
  const app = await build(t)
  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', mysql: 'ok', redis: 'ok' })
})

t.test('an unknown route is a 404 in the standard shape', async t => {
  const app = await build(t)
  const response = await app.inject({ url: '/nope' })
  t.equal(response.statusCode, 404)
  t.match(response.json(), { statusCode: 404, error: 'Not Found', message: String })
})
