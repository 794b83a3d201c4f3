import type { MemberedKeys, VersionedKeys } from '../cache/keys.ts'
import type { LocationId } from '../../domain/location.ts'

const KEY_VERSION = 'v1'

/**
 * A location's keys: `<namespace>:v1:{<COUNTRY>:<cityKey>}:value|stale|lease|floor`.
 * The country is always two letters and city keys carry no braces, so no two
 * locations share a key, and the braces (a Redis Cluster hash tag) keep a
 * location's keys in one slot. The only place that builds a location's key.
 */
export function locationKeys (namespace: string, id: LocationId): VersionedKeys {
  const prefix = keyPrefix(namespace, id)
  return { value: `${prefix}:value`, stale: `${prefix}:stale`, lease: `${prefix}:lease`, floor: `${prefix}:floor` }
}

/** The one key a cache hit reads, built alone: the hot path needs no other. */
export function locationValueKey (namespace: string, id: LocationId): string {
  return `${keyPrefix(namespace, id)}:value`
}

function keyPrefix (namespace: string, id: LocationId): string {
  return `${namespace}:${KEY_VERSION}:{${id.country}:${id.cityKey}}`
}

/**
 * A country's list of cities: `<namespace>:v1:{<COUNTRY>}:cities:value|stale|lease|members`, the same
 * roles as a location's keys (no floor: a record about a list deletes its lease), and the versions
 * of the cities the value holds. Its hash tag holds no colon, so it is never a location's.
 */
export function countryKeys (namespace: string, country: string): MemberedKeys {
  const prefix = `${namespace}:${KEY_VERSION}:{${country}}:cities`
  return { value: `${prefix}:value`, stale: `${prefix}:stale`, lease: `${prefix}:lease`, members: `${prefix}:members` }
}

/** The pub/sub channel on which every instance of a namespace announces its invalidations to the others' local tiers. */
export function invalidationChannel (namespace: string): string {
  return `${namespace}:${KEY_VERSION}:invalidations`
}
