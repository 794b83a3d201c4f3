import { Cluster } from 'ioredis'
import type { RedisClient } from './redis-client.ts'
import type { LocationId } from '../../domain/location.ts'

const KEY_VERSION = 'v1'

export interface CacheKeys {
  value: string
  stale: string
  lease: string
  /** The oldest version a fill may store, set for a short while by an applied record (services/cache/record-scripts.ts). */
  floor: string
  /**
   * An entry made of members (a country's list): a hash of each member's version, written with
   * the value, so that a record about one member is checked in O(1) (services/cache/record-scripts.ts).
   */
  members?: string
}

/**
 * A location's keys: `<namespace>:v1:{<COUNTRY>:<cityKey>}:value|stale|lease|floor`.
 * The country is always two letters and city keys carry no braces, so no two
 * locations share a key, and the braces (a Redis Cluster hash tag) keep a
 * location's keys in one slot. The only place that builds a key.
 */
export function cacheKeys (namespace: string, id: LocationId): CacheKeys {
  const prefix = keyPrefix(namespace, id)
  return { value: `${prefix}:value`, stale: `${prefix}:stale`, lease: `${prefix}:lease`, floor: `${prefix}:floor` }
}

/** The one key a cache hit reads, built alone: the hot path needs no other. */
export function valueKey (namespace: string, id: LocationId): string {
  return `${keyPrefix(namespace, id)}:value`
}

function keyPrefix (namespace: string, id: LocationId): string {
  return `${namespace}:${KEY_VERSION}:{${id.country}:${id.cityKey}}`
}

/**
 * A country's list of cities: `<namespace>:v1:{<COUNTRY>}:cities:value|stale|lease|floor|members`, the same
 * roles as a location's keys (no record sets a list's floor: they delete its lease), and the versions
 * of the cities the value holds. Its hash tag holds no colon, so it is never a location's.
 */
export function countryKeys (namespace: string, country: string): Required<CacheKeys> {
  const prefix = `${namespace}:${KEY_VERSION}:{${country}}:cities`
  return { value: `${prefix}:value`, stale: `${prefix}:stale`, lease: `${prefix}:lease`, floor: `${prefix}:floor`, members: `${prefix}:members` }
}

/** The pub/sub channel on which every instance of a namespace announces its invalidations to the others' local tiers. */
export function invalidationChannel (namespace: string): string {
  return `${namespace}:${KEY_VERSION}:invalidations`
}

/** Deletes every key under a namespace: how the tests and the benchmark clean up after themselves. */
export async function deleteCacheNamespace (redis: RedisClient, namespace: string): Promise<void> {
  // A Cluster's keys are spread over its masters; each is scanned on its own, and a key is deleted
  // alone, since keys of different locations live in different slots.
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis]
  for (const server of servers) {
    let cursor = '0'
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000)
      await Promise.all(keys.map(key => server.del(key)))
      cursor = next
    } while (cursor !== '0')
  }
}
