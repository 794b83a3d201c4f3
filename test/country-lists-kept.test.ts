import t from 'tap'
import type { CountryCities } from '../services/availability/location-store.ts'
import { createCountryListsKept } from '../services/availability/country-lists-kept.ts'

const list = (country: string, cities: number): CountryCities => ({
  country,
  cities: Array.from({ length: cities }, (_, index) => ({ city: `C${index}`, active: false, key: `c${index}`, version: 1 }))
})

t.test('a list is recalled by the fill that wrote it, and only by that fill', async t => {
  const kept = createCountryListsKept()
  const decoded = kept.decode('NI', JSON.stringify(list('NI', 2)), 'fill-1')
  t.equal(kept.recall('NI', 'fill-1'), decoded, 'the very object decoded')
  t.equal(kept.recall('NI', 'fill-2'), undefined, 'another fill is read again')
  t.equal(kept.recall('GT', 'fill-1'), undefined)
  const stale = kept.decode('NI', JSON.stringify(list('NI', 3)), undefined)
  t.equal(stale.cities.length, 3, 'decoded without a fill')
  t.equal(kept.recall('NI', 'fill-1'), decoded, 'and not kept: the fill kept is still the last named one')
})

t.test('keeps the most recently used countries up to its budget of cities, the newest always', async t => {
  const kept = createCountryListsKept(10)
  const ni = list('NI', 4)
  kept.remember('NI', 'a', ni)
  kept.remember('CR', 'b', list('CR', 4))
  t.equal(kept.recall('NI', 'a'), ni)
  kept.remember('NI', 'a', ni)
  kept.remember('HN', 'c', list('HN', 4))
  t.equal(kept.recall('CR', 'b'), undefined, 'the least recently kept went first')
  t.equal(kept.recall('NI', 'a'), ni)
  const big = list('GT', 50)
  kept.remember('GT', 'd', big)
  t.equal(kept.recall('GT', 'd'), big, 'a list over the budget alone is still kept')
  t.equal(kept.recall('NI', 'a'), undefined)
  t.equal(kept.recall('HN', 'c'), undefined)
})

t.test('a list recalled counts as used: the one read least recently goes first', async t => {
  const kept = createCountryListsKept(10)
  const ni = list('NI', 4)
  kept.remember('NI', 'a', ni)
  kept.remember('CR', 'b', list('CR', 4))
  t.equal(kept.recall('NI', 'a'), ni, 'NI read after CR was kept')
  kept.remember('HN', 'c', list('HN', 4))
  t.equal(kept.recall('CR', 'b'), undefined, 'CR, kept after NI but not read since, went first')
  t.equal(kept.recall('NI', 'a'), ni, 'NI, the most recently read, stayed')
})
