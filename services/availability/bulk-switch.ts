import { httpErrors } from '@fastify/sensible'
import { cityKey, displayCity } from '../../domain/location.ts'
import type { ChangeNotices } from '../changes/change-notices.ts'
import type { AvailabilityCache } from './location-cache.ts'
import type { AvailabilityStore, Writer } from './location-store.ts'

/** What a bulk switch answers: the cities it changed, in the stored spelling, sorted by city key. */
export interface BulkChange {
  country: string
  active: boolean
  changed: number
  cities: string[]
}

// Invalidations sent at once: each is a few commands that auto-pipelining joins into one round trip,
// and a country's worth at once would hold thousands of promises and commands in flight for nothing.
const INVALIDATION_BATCH = 500

/** The named cities' keys, each once, with the spelling first given for it (named in a 404). */
function namedKeys (cities: string[]): Map<string, string> {
  const named = new Map<string, string>()
  for (const city of cities) {
    const key = cityKey(city)
    if (!named.has(key)) named.set(key, displayCity(city))
  }
  return named
}

async function invalidateAll (cache: AvailabilityCache, country: string, keys: string[]): Promise<void> {
  for (let first = 0; first < keys.length; first += INVALIDATION_BATCH) {
    await Promise.all(keys.slice(first, first + INVALIDATION_BATCH).map(key => cache.invalidate({ country, cityKey: key })))
  }
}

/**
 * Switches a country's named cities, or all of them, in one transaction (db/migrations/024), then
 * invalidates every city that changed (each invalidation clears the country's list too) before
 * answering. A name that matches no city is a 404 naming it, and nothing changes. The changed
 * cities are those the transaction found locked with the other flag: locked, they are exactly the
 * ones its UPDATE changed. When the write fails it may still have committed: the named cities are
 * invalidated anyway; for a whole country, the invalidation records its triggers wrote reach the
 * cache through the record sync.
 */
export async function switchCities (
  store: AvailabilityStore, cache: AvailabilityCache, notices: ChangeNotices,
  country: string, cities: string[] | undefined, active: boolean, writer: Writer
): Promise<BulkChange> {
  const upper = country.toUpperCase()
  const named = cities === undefined ? undefined : namedKeys(cities)
  let outcome
  try {
    // Sorted, so that concurrent bulk changes lock their rows in one order and do not deadlock each other.
    outcome = await store.setActiveMany(upper, named === undefined ? undefined : [...named.keys()].sort(), active, writer)
  } catch (error) {
    if (named !== undefined) await invalidateAll(cache, upper, [...named.keys()])
    throw error
  }
  if (!outcome.applied) {
    const found = new Set(outcome.found.map(city => city.key))
    const unknown = [...(named as Map<string, string>)].filter(([key]) => !found.has(key)).map(([, city]) => city)
    throw httpErrors.notFound(`No such cities in ${upper}: ${unknown.join(', ')}; nothing was changed`)
  }
  const changed = outcome.found.filter(city => city.active !== active)
  await invalidateAll(cache, upper, changed.map(city => city.key))
  // Announced to the change streams once the entries are gone, like a single write (service.ts).
  notices.announce()
  // The count is the UPDATE's own; the list, the locked rows it changed: the same cities.
  return { country: upper, active, changed: outcome.changed, cities: changed.map(city => city.city) }
}
