import t from 'tap'
import { buildApp } from '../app.ts'
import { demoLocations, loadDemoData } from '../db/demo-data.ts'
import { isCityName } from '../schemas/formats.ts'
import { CityName } from '../schemas/location.ts'
import { AUTH, build } from './helper.ts'

t.test('the demo data has every capital once, inactive, and the Nicaraguan cities with Managua active', async t => {
  const locations = demoLocations()
  const byCountry = Map.groupBy(locations, location => location.country)
  t.ok(byCountry.size >= 240, `${byCountry.size} countries`)
  t.same(byCountry.get('NI')?.map(({ city, active }) => [city, active]).sort(), [
    ['Granada', false], ['León', false], ['Managua', true], ['Masaya', false], ['Rivas', false]
  ])
  t.same(byCountry.get('CR'), [{ country: 'CR', city: 'San José', active: false }])
  t.same(byCountry.get('CO'), [{ country: 'CO', city: 'Bogotá', active: false }])
  t.notOk(byCountry.has('XK'), 'only ISO-assigned codes')
  t.equal(locations.filter(location => location.active).length, 1, 'only Managua starts active')
})

t.test('a first start loads the demo data; loading it again adds nothing and keeps operators\' changes', async t => {
  const app = await build(t)
  t.equal((await app.inject({ url: '/active?country=CR&city=San%20Jose' })).json().city, 'San José')
  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'CR', city: 'San José', active: true } })
  await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Rivas', headers: AUTH })

  const restarted = await buildApp({ config: app.config })
  t.teardown(() => restarted.close())
  await restarted.ready()
  t.equal((await restarted.inject({ url: '/active?country=NI&city=Rivas' })).statusCode, 404, 'a later start does not bring a removed city back')

  t.equal(await loadDemoData(app.config), 1, 'npm run seed adds what is missing')
  const [rows] = await app.mysql.query('SELECT active FROM locations WHERE country = ? AND city_key = ?', ['CR', 'san jose'])
  t.same(rows, [{ active: 1 }], 'and keeps the operator\'s change')
})

t.test('with DEMO_DATA=false the database starts empty', async t => {
  const app = await build(t, { DEMO_DATA: 'false' })
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).statusCode, 404)
})

t.test('every demo city is a valid city name for the API', async t => {
  const invalid = demoLocations().filter(({ city }) => !isCityName(city) || city.length > (CityName.maxLength ?? 0))
  t.same(invalid, [])
})
