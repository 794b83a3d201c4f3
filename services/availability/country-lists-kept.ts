import type { CountryCities } from './location-store.ts'

// The lists this process keeps decoded, in cities: a few big countries, or every small one.
const KEPT_CITIES = 50_000

export interface CountryListsKept {
  /** Parses a cached list, and keeps it under the fill that wrote it when that is known. */
  decode (country: string, cached: string, fill: string | undefined): CountryCities
  /** The list that fill wrote, if this process decoded or filled it and still keeps it; it counts as used. */
  recall (country: string, fill: string): CountryCities | undefined
  remember (country: string, fill: string, list: CountryCities): void
}

/**
 * Keeps the last list of each country this process filled or decoded,
 * under the name of the fill that wrote it to Redis: while Redis holds that
 * fill, a hit reads its name and gets the very same object back (and with
 * it the pages already encoded from it, services/availability/city-pages.ts) instead of
 * reading and parsing thousands of cities again. Keeps the most recently
 * used countries up to KEPT_CITIES, the newest always.
 */
export function createCountryListsKept (keptCities = KEPT_CITIES): CountryListsKept {
  const kept = new Map<string, { fill: string, list: CountryCities }>()
  let keptTotal = 0

  function forget (country: string): void {
    const entry = kept.get(country)
    if (entry === undefined) return
    keptTotal -= entry.list.cities.length
    kept.delete(country)
  }

  function remember (country: string, fill: string, list: CountryCities): void {
    forget(country)
    kept.set(country, { fill, list })
    keptTotal += list.cities.length
    for (const oldest of kept.keys()) {
      if (keptTotal <= keptCities || oldest === country) break
      forget(oldest)
    }
  }

  return {
    decode (country, cached, fill) {
      const list = JSON.parse(cached) as CountryCities
      if (fill !== undefined) remember(country, fill, list)
      return list
    },

    recall (country, fill) {
      const entry = kept.get(country)
      if (entry?.fill !== fill) return undefined
      // Moved to the end of the map's order: the countries read least recently are forgotten first.
      kept.delete(country)
      kept.set(country, entry)
      return entry.list
    },

    remember
  }
}
