import t from 'tap'
import { build } from './helper.ts'

t.test('the first read misses and fills the cache, the next one hits', async t => {
  const app = await build(t)
  const first = await app.inject({ url: '/active?country=NI&city=Managua' })
  t.equal(first.statusCode, 200)
  t.same(first.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  const second = await app.inject({ url: '/active?country=NI&city=Managua' })
  t.same(second.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' })
})
