import type { MemberedEntry, VersionedEntry } from '../cache/entry.ts'
import type { Invalidations } from '../cache/invalidations.ts'
import type { AvailabilityStore, CountryCities, StoredLocation } from './location-store.ts'
import type { CountryListsKept } from './country-lists-kept.ts'
import { countryKeys, locationKeys, locationValueKey } from './location-keys.ts'
import type { LocationId } from '../../domain/location.ts'

/**
 * How the record script reads a cached location's version (services/cache/record-scripts.ts):
 * a location's value is its JSON, version included.
 */
export const LOCATION_VERSION_LUA = 'return tonumber(cjson.decode(value).version or 0)'

/** Whether a kept location (undefined: "not found") is as fresh as a change recorded at `version`. */
export const currentAfter = (version: number, deleted: boolean) => (location: StoredLocation | undefined) =>
  location === undefined ? deleted : location.version >= version

export interface LocationEntries {
  location (id: LocationId, name: string): VersionedEntry<StoredLocation>
  country (country: string): MemberedEntry<CountryCities>
}

const encode = (value: unknown) => JSON.stringify(value)

/**
 * The two kinds of cached entry, as the cache protocol (services/cache/entry.ts) wants them: a
 * location, versioned, and a country's list of cities, made of members (each city's version beside
 * the list, so a record about one city is checked without reading the list).
 */
export function createLocationEntries (
  namespace: string, store: AvailabilityStore, invalidations: Invalidations<LocationId>, countryLists: CountryListsKept
): LocationEntries {
  return {
    location: (id, name) => ({
      name,
      valueKey: locationValueKey(namespace, id),
      keys: () => locationKeys(namespace, id),
      load: () => store.find(id),
      encode,
      decode: cached => JSON.parse(cached) as StoredLocation,
      version: location => location?.version ?? -1,
      isPending: () => invalidations.isPending(id)
    }),

    country (country) {
      const keys = countryKeys(namespace, country)
      return {
        name: country,
        valueKey: keys.value,
        keys: () => keys,
        membersKey: keys.members,
        load: () => store.listCountry(country),
        encode,
        decode: (cached, fill) => countryLists.decode(country, cached, fill),
        members: list => (list as CountryCities).cities.flatMap(city => [city.key, city.version]),
        recall: fill => countryLists.recall(country, fill),
        remember: (fill, list) => countryLists.remember(country, fill, list as CountryCities),
        isPending: () => invalidations.somePending(id => id.country === country)
      }
    }
  }
}
