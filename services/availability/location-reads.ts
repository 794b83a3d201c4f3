import type { CacheRead } from '../cache/entry.ts'
import type { Invalidations } from '../cache/invalidations.ts'
import type { LocalTier } from '../cache/local-tier.ts'
import type { ReadThrough } from '../cache/read-through.ts'
import type { CacheStats } from './cache-stats.ts'
import type { LocationEntries } from './location-entries.ts'
import type { CountryCities, StoredLocation } from './location-store.ts'
import { locationKey, type LocationId } from '../../domain/location.ts'

export interface LocationReads {
  read (id: LocationId): Promise<CacheRead<StoredLocation>>
  readCountry (country: string): Promise<CacheRead<CountryCities>>
}

/**
 * The reads of locations and lists through the cache: from the source alone while an
 * invalidation is pending, from the local tier when it holds the location, through Redis
 * otherwise; each outcome counted.
 */
export function createLocationReads (
  reads: ReadThrough, entries: LocationEntries, invalidations: Invalidations<LocationId>,
  localTier: LocalTier<StoredLocation> | undefined, stats: CacheStats
): LocationReads {
  // Each read's outcome counted as it is answered, in the one async function a read goes through.
  const counted = <T>(result: CacheRead<T>): CacheRead<T> => {
    stats.outcomes[result.outcome]++
    return result
  }

  async function read (id: LocationId): Promise<CacheRead<StoredLocation>> {
    const name = locationKey(id)
    if (invalidations.isPending(id)) return counted(await reads.bypass(entries.location(id, name)))
    let epoch = 0
    const tier = localTier?.subscribed === true ? localTier : undefined
    if (tier !== undefined) {
      const kept = tier.get(name)
      if (kept !== undefined) {
        stats.localHits++
        return counted({ value: kept.value, outcome: 'hit' })
      }
      epoch = tier.epoch
    }
    const result = await reads.read(entries.location(id, name))
    // Only what Redis answered: a miss was read from MySQL, and may be refused its fill.
    if (tier !== undefined && result.outcome === 'hit') tier.set(name, result.value, epoch)
    return counted(result)
  }

  return {
    read,

    async readCountry (country) {
      const entry = entries.country(country)
      return counted(await (entry.isPending() ? reads.bypass(entry) : reads.read(entry)))
    }
  }
}
