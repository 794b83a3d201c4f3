import { httpErrors } from '@fastify/sensible'
import type { HistoryAnswer } from '../../schemas/history.ts'
import type { AvailabilityAnswer, CacheOutcomeName, LocationData } from '../../schemas/location.ts'
import type { CacheRead } from '../cache/entry.ts'
import type { AvailabilityCache } from './location-cache.ts'
import type { AvailabilityStore, CountryCities, StoredLocation, Writer } from './location-store.ts'
import { cityPage, type CityPageQuery } from './city-pages.ts'
import { weakEtag } from './etag.ts'
import { switchCities, type BulkChange } from './bulk-switch.ts'
import type { HistoryStore } from './history-store.ts'
import type { ChangeNotices } from '../changes/change-notices.ts'
import { displayCity, locationId, type LocationId } from '../../domain/location.ts'

export type { Writer } from './location-store.ts'

export const NOT_FOUND_MESSAGE = 'No existen datos Asociados'

/** An answer to a GET, with the tag that conditional requests compare. */
export interface TaggedAnswer<T> {
  body: T
  etag: string
}

export interface AvailabilityService {
  /**
   * The answer as JSON, encoded once per decoded value and outcome (a hit from a value decoded before encodes and hashes nothing).
   * At once, without a promise, when the local tier holds it; throws (or rejects) 404 for a location that does not exist.
   */
  lookup (country: string, city: string): TaggedAnswer<string> | Promise<TaggedAnswer<string>>
  /** The same read as lookup, but a location not registered is an answer (undefined), not a 404: OFREP evaluates it. */
  find (country: string, city: string): Promise<TaggedAnswer<FoundLocation>>
  /** A page of a country's cities, sorted by city key, as JSON encoded once per cached list (services/availability/city-pages.ts). */
  listCities (country: string, query: CityPageQuery): Promise<TaggedAnswer<Buffer>>
  history (country: string, city: string, limit: number): Promise<HistoryAnswer>
  setActive (country: string, city: string, active: boolean, writer: Writer): Promise<LocationData>
  create (country: string, city: string, active: boolean, writer: Writer): Promise<LocationData>
  remove (country: string, city: string, writer: Writer): Promise<void>
  /** Switches the named cities of a country, or all of them, all or nothing (services/availability/bulk-switch.ts). */
  setActiveMany (country: string, cities: string[] | undefined, active: boolean, writer: Writer): Promise<BulkChange>
}

export interface FoundLocation {
  location: LocationData | undefined
  outcome: CacheOutcomeName
}

/** What GET /active sends, as the response schema would encode it, and its tag. */
function encodedAnswer ({ active, country, city }: StoredLocation, outcome: CacheOutcomeName): TaggedAnswer<string> {
  const body: AvailabilityAnswer = { active, country, city, redis_cache: outcome }
  return { body: JSON.stringify(body), etag: weakEtag(`${country}\n${city}\n${active}`) }
}

/**
 * A read's encoded answer (404 for a location that does not exist), by outcome, kept with the decoded
 * value itself: the local tier keeps one object per location, and the cache decodes a value it has
 * decoded before to the same object (location-entries.ts), so a hit reuses its encoded answer.
 */
function createEncodedAnswers (): (read: CacheRead<StoredLocation>) => TaggedAnswer<string> {
  const encoded = new WeakMap<StoredLocation, Partial<Record<CacheOutcomeName, TaggedAnswer<string>>>>()
  return ({ value: location, outcome }) => {
    if (location === undefined) throw httpErrors.notFound(NOT_FOUND_MESSAGE)
    let answers = encoded.get(location)
    if (answers === undefined) encoded.set(location, answers = {})
    return (answers[outcome] ??= encodedAnswer(location, outcome))
  }
}

// What a client sees of a stored location: the version stays inside.
const shown = ({ country, city, active }: StoredLocation): LocationData => ({ country, city, active })

/**
 * Runs a write, then invalidates its location before the answer goes out,
 * whatever the outcome: a write that failed for want of MySQL may still
 * have committed, and an invalidation too many costs one cache miss. A
 * write that succeeded is announced to the change streams once its entry is
 * gone (a failed one that committed reaches them by its invalidation record).
 */
function createWriting (cache: AvailabilityCache, notices: ChangeNotices) {
  return async function writing<T> (id: LocationId, write: () => Promise<T>): Promise<T> {
    let written = false
    try {
      const result = await write()
      written = true
      return result
    } finally {
      await cache.invalidate(id)
      if (written) notices.announce()
    }
  }
}

/** What the routes call: MySQL through the cache for reads, MySQL then invalidation for writes. */
export function createAvailabilityService (store: AvailabilityStore, cache: AvailabilityCache, history: HistoryStore, notices: ChangeNotices): AvailabilityService {
  const answerTo = createEncodedAnswers()
  const writing = createWriting(cache, notices)

  return {
    lookup (country, city) {
      const id = locationId(country, city)
      const kept = cache.readKept(id)
      return kept === undefined ? cache.read(id).then(answerTo) : answerTo(kept)
    },

    async find (country, city) {
      const id = locationId(country, city)
      const read = cache.readKept(id) ?? await cache.read(id)
      const { value: location, outcome } = read
      if (location === undefined) return { body: { location: undefined, outcome }, etag: weakEtag(`${id.country}\n${id.cityKey}\nunregistered`) }
      return { body: { location: shown(location), outcome }, etag: answerTo(read).etag }
    },

    async listCities (country, query) {
      const { value: list, outcome } = await cache.readCountry(country.toUpperCase())
      // A list is never "not found": a country without cities has an empty one.
      const page = cityPage(list as CountryCities, query)
      return { body: page.body(outcome), etag: page.etag }
    },

    async history (country, city, limit) {
      const id = locationId(country, city)
      const found = await history.read(id, limit)
      if (found === undefined) throw httpErrors.notFound(NOT_FOUND_MESSAGE)
      return { country: id.country, city: found.city, changes: found.changes }
    },

    async setActive (country, city, active, writer) {
      const id = locationId(country, city)
      const location = await writing(id, () => store.setActive(id, active, writer))
      if (location === undefined) throw httpErrors.notFound(NOT_FOUND_MESSAGE)
      // The value this request wrote, even if a concurrent PUT has changed it since.
      return { ...shown(location), active }
    },

    async create (country, city, active, writer) {
      const id = locationId(country, city)
      // The invalidation clears a cached "not found" for this location.
      const location = await writing(id, () => store.insert(id, displayCity(city), active, writer))
      if (location === undefined) throw httpErrors.conflict(`${id.country}/${displayCity(city)} already exists`)
      return shown(location)
    },

    async remove (country, city, writer) {
      const id = locationId(country, city)
      if (!await writing(id, () => store.remove(id, writer))) throw httpErrors.notFound(NOT_FOUND_MESSAGE)
    },

    setActiveMany: (country, cities, active, writer) => switchCities(store, cache, notices, country, cities, active, writer)
  }
}
