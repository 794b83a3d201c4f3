import { createInvalidations, type Invalidations } from '../cache/invalidations.ts'
import type { LocalTier } from '../cache/local-tier.ts'
import type { RedisClient } from '../cache/redis-client.ts'
import type { RedisHealth } from '../cache/redis-health.ts'
import type { ReplicatedWrites } from '../cache/replicated-writes.ts'
import { countryKeys, invalidationChannel, locationKeys } from './location-keys.ts'
import type { StoredLocation } from './location-store.ts'
import { locationKey, type LocationId } from '../../domain/location.ts'

/**
 * What a write to a location invalidates: its entry and its country's list, waited for by the
 * replicas (replicated-writes.ts), and announced to every instance's local tier when there is one;
 * retried until done (services/cache/invalidations.ts).
 */
export function createLocationInvalidations (
  redis: RedisClient, writes: ReplicatedWrites, health: RedisHealth, namespace: string, localTier: LocalTier<StoredLocation> | undefined
): Invalidations<LocationId> {
  const channel = invalidationChannel(namespace)
  // Replayed when the writes' own connection is back: it is the one that must reach Redis.
  return createInvalidations<LocationId>(writes.redis, locationKey, id => health.timed('invalidating the cache', async () => {
    const location = locationKeys(namespace, id)
    const list = countryKeys(namespace, id.country)
    // Sent together (auto-pipelining), one slot each; if any fails, the whole invalidation is retried.
    await Promise.all([
      // The floor too: the lease it guarded is gone, and after a DELETE an older floor would refuse "not found".
      writes.del([location.value, location.stale, location.lease, location.floor]),
      writes.del([list.value, list.stale, list.lease, list.members]),
      localTier === undefined ? undefined : redis.publish(channel, locationKey(id))
    ])
  }))
}
