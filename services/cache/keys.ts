import { Cluster } from 'ioredis'
import type { RedisClient } from './redis-client.ts'

/**
 * The keys of one cached entry, given by whoever owns the key layout; they share one hash tag,
 * so a script only ever touches one Redis Cluster slot.
 */
export interface EntryKeys {
  /** The fresh answer: a plain GET on the hot path. */
  value: string
  /** The same answer, kept for the grace period and served only while the source is down. */
  stale: string
  /** The one reader allowed to fill. */
  lease: string
}

/** An entry holding one versioned value: a record's change sets the oldest version a fill may store. */
export interface VersionedKeys extends EntryKeys {
  /** `version:deleted`, set for a short while by an applied record (record-scripts.ts), checked by the fill (lease-scripts.ts). */
  floor: string
}

/** An entry made of members: a hash of each member's version, written with the value, checks a record in O(1). */
export interface MemberedKeys extends EntryKeys {
  members: string
}

/** Deletes every key under a namespace: how the tests and the benchmark clean up after themselves. */
export async function deleteCacheNamespace (redis: RedisClient, namespace: string): Promise<void> {
  // A Cluster's keys are spread over its masters; each is scanned on its own, and a key is deleted
  // alone, since keys of different entries live in different slots.
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
