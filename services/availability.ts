import { httpErrors } from '@fastify/sensible'
import type { AvailabilityAnswer, LocationData } from '../schemas/location.ts'
import type { AvailabilityCache } from './cache/index.ts'
import type { AvailabilityStore } from './availability-store.ts'
import { displayCity, locationId, type LocationId } from './location.ts'

export const NOT_FOUND_MESSAGE = 'No existen datos Asociados'

export interface AvailabilityService {
  lookup (country: string, city: string): Promise<AvailabilityAnswer>
  setActive (country: string, city: string, active: boolean): Promise<LocationData>
  create (country: string, city: string, active: boolean): Promise<LocationData>
  remove (country: string, city: string): Promise<void>
}

/** What the routes call: MySQL through the cache for reads, MySQL then invalidation for writes. */
export function createAvailabilityService (store: AvailabilityStore, cache: AvailabilityCache): AvailabilityService {
  /**
   * Runs a write, then invalidates its location before the answer goes out,
   * whatever the outcome: a write that failed for want of MySQL may still
   * have committed, and an invalidation too many costs one cache miss.
   */
  async function writing<T> (id: LocationId, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } finally {
      await cache.invalidate(id)
    }
  }

  return {
    async lookup (country, city) {
      const { location, outcome } = await cache.read(locationId(country, city))
      if (location === undefined) throw httpErrors.notFound(NOT_FOUND_MESSAGE)
      return { active: location.active, country: location.country, city: location.city, redis_cache: outcome }
    },

    async setActive (country, city, active) {
      const id = locationId(country, city)
      const location = await writing(id, () => store.setActive(id, active))
      if (location === undefined) throw httpErrors.notFound(NOT_FOUND_MESSAGE)
      // The value this request wrote, even if a concurrent PUT has changed it since.
      return { ...location, active }
    },

    async create (country, city, active) {
      const id = locationId(country, city)
      // The invalidation clears a cached "not found" for this location.
      const location = await writing(id, () => store.insert(id, displayCity(city), active))
      if (location === undefined) throw httpErrors.conflict(`${id.country}/${displayCity(city)} already exists`)
      return location
    },

    async remove (country, city) {
      const id = locationId(country, city)
      if (!await writing(id, () => store.remove(id))) throw httpErrors.notFound(NOT_FOUND_MESSAGE)
    }
  }
}
