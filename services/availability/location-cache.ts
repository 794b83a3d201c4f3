import type { FastifyBaseLogger } from 'fastify'
import type { CacheRead } from '../cache/entry.ts'
import type { LocalTier } from '../cache/local-tier.ts'
import { createReadThrough } from '../cache/read-through.ts'
import { defineRecordScripts } from '../cache/record-scripts.ts'
import { createRedisHealth, type RedisTimings } from '../cache/redis-health.ts'
import type { RedisClient } from '../cache/redis-client.ts'
import { createReplicatedWrites, type ReplicationSettings } from '../cache/replicated-writes.ts'
import { createCacheStats, type CacheStats } from './cache-stats.ts'
import { createCountryListsKept } from './country-lists-kept.ts'
import type { InvalidationRecord } from './invalidation-records.ts'
import { createLocationEntries, LOCATION_VERSION_LUA } from './location-entries.ts'
import { createLocationInvalidations } from './location-invalidations.ts'
import { createLocationReads } from './location-reads.ts'
import type { AvailabilityStore, CountryCities, StoredLocation } from './location-store.ts'
import { createRecordApply } from './record-apply.ts'
import { locationKey, type LocationId } from '../../domain/location.ts'

export type { CacheStats } from './cache-stats.ts'

export interface CacheOptions {
  /** Namespace of every key; tests give each file its own. */
  namespace: string
  ttlSeconds: number
  negativeTtlSeconds: number
  graceSeconds: number
  /** How long a reader may hold the fill lease: longer than a MySQL read may take. */
  leaseMs: number
  log: FastifyBaseLogger
  timings?: RedisTimings
  /** What a write's invalidation waits for before it counts as done (REDIS_WAIT_REPLICAS). */
  replication: ReplicationSettings
  /** The opt-in in-process tier (CACHE_LOCAL_TTL_MS); without it every hit is a Redis GET. */
  localTier?: LocalTier<StoredLocation>
  /** Test seam: runs between a reader's MySQL read and its fill; `entry` is `NI:managua`, or `NI` for a list. */
  afterDatabaseRead?: (entry: string) => Promise<void>
}

export interface AvailabilityCache {
  /** The location from the local tier (CACHE_LOCAL_TTL_MS), at once, or undefined: then read() it. */
  readKept (id: LocationId): CacheRead<StoredLocation> | undefined
  /** Cache-aside read of one location: Redis first, MySQL on a miss, then fill. */
  read (id: LocationId): Promise<CacheRead<StoredLocation>>
  /** The same for a country's list of cities. */
  readCountry (country: string): Promise<CacheRead<CountryCities>>
  /** Called after every committed write, before it is acknowledged: the location and its country's list. Never throws. */
  invalidate (id: LocationId): Promise<void>
  /**
   * Applies invalidation records (services/cache/record-sync.ts, record-apply.ts): deletes
   * each entry they name unless it is already as fresh as the change.
   * Resolves with the records Redis refused (an error reply about their
   * keys), for the sync to try again apart from the others; throws when
   * Redis cannot be reached or cannot write (OOM, READONLY, ...), so that
   * all are tried again.
   */
  applyRecords (records: InvalidationRecord[]): Promise<InvalidationRecord[]>
  readonly stats: CacheStats
  /** Invalidations that could not reach Redis yet. */
  readonly pendingInvalidations: number
  readonly localTier: LocalTier<StoredLocation> | undefined
  /** Stops retrying and makes one last attempt at the pending invalidations. */
  close (): Promise<void>
}

/**
 * The cache-aside reads and the invalidations of locations, composed from
 * the generic protocol in services/cache/ (the lease-checked read of one
 * entry, read-through.ts; the retried invalidations, invalidations.ts; the
 * wait for replicas that makes them outlive a failover, replicated-writes.ts;
 * the record scripts, record-scripts.ts; what operators see of Redis,
 * redis-health.ts; the opt-in in-process tier, local-tier.ts) and what this
 * folder says of the domain: the key layout (location-keys.ts), the entries
 * (location-entries.ts), what a write invalidates (location-invalidations.ts),
 * how it is read (location-reads.ts) and how a record applies (record-apply.ts).
 *
 * Two kinds of entry share one protocol: a location, and a country's list
 * of cities. Each has a value (the answer as JSON for the TTL, so a hit is
 * one plain GET), a stale copy (kept for the grace period, served only while
 * MySQL is down) and a lease (the one reader allowed to fill). Every entry
 * carries the version of what it holds, so applying a record never deletes
 * a fresher one.
 *
 * Guarantees:
 * - no stale set: a fill succeeds only if no write deleted the lease since the
 *   reader's miss;
 * - one MySQL read per cold entry: concurrent readers in this process share one
 *   flight, readers in other processes wait for the lease holder's fill;
 * - a write invalidates its location and its country's list before it is
 *   acknowledged, and ends their flights, so a read that starts after a write
 *   never joins a read that started before it;
 * - with replicas (Cluster, Sentinel), an invalidation counts as done only
 *   once the replicas connected (up to REDIS_WAIT_REPLICAS) hold it, so the
 *   one promoted after a failover does not bring back what it deleted;
 * - an invalidation that cannot reach Redis is retried until it succeeds, and
 *   until then this process reads that location, and its country's list,
 *   from MySQL only; the record the triggers wrote with the change makes every
 *   instance apply it anyway, within the sync interval, even if this one dies;
 * - with the local tier on, a write deletes the value and announces it to
 *   every instance's tier in one pipeline, and is retried as a whole; a tier
 *   keeps only what Redis answered, for at most its TTL.
 */
export function createAvailabilityCache (redis: RedisClient, store: AvailabilityStore, options: CacheOptions): AvailabilityCache {
  const { localTier, namespace } = options
  const stats = createCacheStats()
  const health = createRedisHealth(options.log, options.timings)
  const reads = createReadThrough(redis, {
    freshMs: options.ttlSeconds * 1000,
    keepMs: (options.ttlSeconds + options.graceSeconds) * 1000,
    negativeMs: options.negativeTtlSeconds * 1000,
    leaseMs: options.leaseMs,
    health,
    fills: stats.fills,
    afterDatabaseRead: options.afterDatabaseRead
  })
  const writes = createReplicatedWrites(options.replication)
  const invalidations = createLocationInvalidations(redis, writes, health, namespace, localTier)
  const entries = createLocationEntries(namespace, store, invalidations, createCountryListsKept())
  const { readKept, read, readCountry } = createLocationReads(reads, entries, invalidations, localTier, stats)
  const applyRecords = createRecordApply({
    namespace,
    leaseMs: options.leaseMs,
    // The sync applies records with the writes' client, so that it can wait for replicas as writes do.
    scripts: defineRecordScripts(writes.redis, LOCATION_VERSION_LUA),
    writes,
    localTier,
    endFlight: name => reads.end(name),
    stats,
    log: options.log
  })

  return {
    readKept,
    read,
    readCountry,

    async invalidate (id) {
      localTier?.delete(locationKey(id))
      if (await invalidations.invalidate(id)) stats.invalidations.done++
      else stats.invalidations.failed++
      reads.end(locationKey(id))
      reads.end(id.country)
    },

    async applyRecords (records) {
      const refused = await health.timed('applying invalidation records', () => applyRecords(records))
      stats.records.applied += records.length - refused.length
      return refused
    },

    stats,

    get pendingInvalidations () { return invalidations.pending },

    localTier,

    close: () => invalidations.close()
  }
}
