import type { CacheRead } from '../cache/entry.ts'
import type { Invalidations } from '../cache/invalidations.ts'
import type { LocalTier } from '../cache/local-tier.ts'
import type { ReadThrough } from '../cache/read-through.ts'
import type { CacheStats } from './cache-stats.ts'
import type { LocationEntries } from './location-entries.ts'
import type { CountryCities, StoredLocation } from './location-store.ts'
import { locationKey, type LocationId } from '../../domain/location.ts'

export interface LocationReads {
  /** What the local tier holds for the location, counted as a hit, or undefined: then read() it. No I/O, no promise. */
  readKept (id: LocationId): CacheRead<StoredLocation> | undefined
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

  // The local tier, while it hears invalidations (a tier that does not could serve a stale value).
  const listening = () => localTier?.subscribed === true ? localTier : undefined

  function readKept (id: LocationId): CacheRead<StoredLocation> | undefined {
    const tier = listening()
    if (tier === undefined || invalidations.isPending(id)) return undefined
    const kept = tier.get(locationKey(id))
    if (kept === undefined) return undefined
    stats.localHits++
    return counted({ value: kept.value, outcome: 'hit' })
  }

  /** A read that readKept() did not answer: from the source alone while an invalidation is pending, else through Redis. */
  async function read (id: LocationId): Promise<CacheRead<StoredLocation>> {
    const name = locationKey(id)
    if (invalidations.isPending(id)) return counted(await reads.bypass(entries.location(id, name)))
    const tier = listening()
    // The tier's epoch before Redis is asked: an invalidation meanwhile keeps this answer out of it.
    const epoch = tier?.epoch ?? 0
    const result = await reads.read(entries.location(id, name))
    // Only what Redis answered: a miss was read from MySQL, and may be refused its fill.
    if (tier !== undefined && result.outcome === 'hit') tier.set(name, result.value, epoch)
    return counted(result)
  }

  return {
    readKept,
    read,

    async readCountry (country) {
      const entry = entries.country(country)
      return counted(await (entry.isPending() ? reads.bypass(entry) : reads.read(entry)))
    }
  }
}
