import { httpErrors } from '@fastify/sensible'
import type { CacheOutcomeName } from '../../schemas/location.ts'
import type { CountryCities, StoredCity } from './location-store.ts'
import { weakEtag } from './etag.ts'

export interface CityPageQuery {
  /** Only the cities with this flag. */
  active?: boolean
  limit: number
  /** Where the previous page ended (its `next_cursor`); the first page without it. */
  cursor?: string
}

/** One page encoded once: a hit and a 304 only look it up. */
export interface EncodedCityPage {
  etag: string
  /** The answer's JSON with where it came from, as the bytes sent. */
  body: (outcome: CacheOutcomeName) => Buffer
}

// Pages encoded from one list that are kept with it: the common queries of the common countries.
const PAGES_KEPT = 64
const CURSOR_PREFIX = 'c1.'

const encoder = new TextEncoder()
// MySQL sorts city keys by their bytes (utf8mb4_bin): so must the search for a cursor's place.
const compareKeys = (a: string, b: string) => Buffer.compare(encoder.encode(a), encoder.encode(b))

/** An opaque cursor: the city key the page ended with, so the next page starts after it even if cities come and go. */
const cursorAfter = (city: StoredCity) => `${CURSOR_PREFIX}${Buffer.from(city.key).toString('base64url')}`

function keyAfter (cursor: string): string {
  const encoded = cursor.slice(CURSOR_PREFIX.length)
  const key = Buffer.from(encoded, 'base64url').toString()
  // base64url decoding skips what it cannot read: only a cursor that re-encodes the same was one of ours.
  if (!cursor.startsWith(CURSOR_PREFIX) || key === '' || Buffer.from(key).toString('base64url') !== encoded) {
    throw httpErrors.badRequest('querystring/cursor is not a cursor this service gave: start again without it')
  }
  return key
}

/** The index of the first city after `key`, by binary search: the list is sorted by key. */
function firstAfter (cities: StoredCity[], key: string): number {
  let low = 0
  let high = cities.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (compareKeys((cities[middle] as StoredCity).key, key) <= 0) low = middle + 1
    else high = middle
  }
  return low
}

interface ListPages {
  filtered: Map<string, StoredCity[]>
  pages: Map<string, EncodedCityPage>
}

// Per decoded list: a new list (a fill, a miss) starts with nothing, and what it held goes with it.
const byList = new WeakMap<CountryCities, ListPages>()

function encodePage (list: CountryCities, cities: StoredCity[], query: CityPageQuery): EncodedCityPage {
  const start = query.cursor === undefined ? 0 : firstAfter(cities, keyAfter(query.cursor))
  const page = cities.slice(start, start + query.limit)
  const last = page.at(-1)
  const nextCursor = last === undefined || start + page.length >= cities.length ? null : cursorAfter(last)
  const shown = page.map(({ city, active }) => ({ city, active }))
  const data = JSON.stringify({ country: list.country, cities: shown, next_cursor: nextCursor })
  // The data's JSON without its closing brace: where it came from is added per answer.
  const head = `${data.slice(0, -1)},"redis_cache":`
  const bodies = new Map<CacheOutcomeName, Buffer>()
  return {
    etag: weakEtag(data),
    body: outcome => {
      let body = bodies.get(outcome)
      if (body === undefined) {
        body = Buffer.from(`${head}"${outcome}"}`)
        bodies.set(outcome, body)
      }
      return body
    }
  }
}

/**
 * A page of a country's list, sorted by city key, with the cursor of the
 * next page (null on the last). Encoded once per list and query, and kept
 * with the decoded list (services/availability/country-lists-kept.ts): while the list
 * is cached, asking again costs a map lookup, whatever the country's size.
 */
export function cityPage (list: CountryCities, query: CityPageQuery): EncodedCityPage {
  let kept = byList.get(list)
  if (kept === undefined) {
    kept = { filtered: new Map(), pages: new Map() }
    byList.set(list, kept)
  }
  const filter = String(query.active)
  const name = `${filter}|${query.limit}|${query.cursor ?? ''}`
  const known = kept.pages.get(name)
  if (known !== undefined) return known
  let cities = kept.filtered.get(filter)
  if (cities === undefined) {
    cities = query.active === undefined ? list.cities : list.cities.filter(city => city.active === query.active)
    kept.filtered.set(filter, cities)
  }
  const page = encodePage(list, cities, query)
  if (kept.pages.size >= PAGES_KEPT) kept.pages.delete(kept.pages.keys().next().value as string)
  kept.pages.set(name, page)
  return page
}
