import type { FastifyBaseLogger } from 'fastify'
import { ReplyError } from 'ioredis'
import type { RedisClient } from '../cache/redis-client.ts'
import type { CacheOutcomeName } from '../../schemas/location.ts'
import type { AvailabilityStore, CountryCities, StoredLocation } from './location-store.ts'
import { createCountryListsKept } from './country-lists-kept.ts'
import type { InvalidationRecord } from '../cache/invalidation-record-store.ts'
import { locationKey, type LocationId } from '../../domain/location.ts'
import { createDecodedValues } from '../cache/decoded-values.ts'
import { createInvalidations } from '../cache/invalidations.ts'
import { cacheKeys, countryKeys, invalidationChannel, valueKey } from '../cache/keys.ts'
import { defineCacheScripts } from '../cache/lease-scripts.ts'
import type { LocalTier } from '../cache/local-tier.ts'
import { createReadThrough, type CacheEntry, type CacheRead } from '../cache/read-through.ts'
import { defineRecordScripts } from '../cache/record-scripts.ts'
import { createRedisHealth, type RedisTimings } from '../cache/redis-health.ts'
import { createReplicatedWrites, type ReplicationSettings } from '../cache/replicated-writes.ts'

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
  localTier?: LocalTier
  /** Test seam: runs between a reader's MySQL read and its fill; `entry` is `NI:managua`, or `NI` for a list. */
  afterDatabaseRead?: (entry: string) => Promise<void>
}

/** Counters for /metrics; plain numbers, so the hot path pays nothing for them. */
export interface CacheStats {
  outcomes: Record<CacheOutcomeName, number>
  /** Hits answered by the local tier, counted among the outcomes' hits too. */
  localHits: number
  /** Fills stored, and fills refused because a write took the reader's lease. */
  fills: { stored: number, refused: number }
  invalidations: { done: number, failed: number }
  /** Invalidation records applied by the sync, and the Redis keys they deleted. */
  records: { applied: number, deleted: number }
}

export interface AvailabilityCache {
  /** Cache-aside read of one location: Redis first, MySQL on a miss, then fill. */
  read (id: LocationId): Promise<CacheRead<StoredLocation>>
  /** The same for a country's list of cities. */
  readCountry (country: string): Promise<CacheRead<CountryCities>>
  /** Called after every committed write, before it is acknowledged: the location and its country's list. Never throws. */
  invalidate (id: LocationId): Promise<void>
  /**
   * Applies invalidation records (services/cache/record-sync.ts): deletes
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
  readonly localTier: LocalTier | undefined
  /** Stops retrying and makes one last attempt at the pending invalidations. */
  close (): Promise<void>
}

// Locations decoded once and kept by their cached JSON: a hit on one of them decodes and encodes nothing.
const DECODED_LOCATIONS = 10_000

/** The newest record of each location among `records`: it alone decides what is current. */
function newestByLocation (records: InvalidationRecord[]): InvalidationRecord[] {
  const newest = new Map<string, InvalidationRecord>()
  for (const record of records) {
    const key = locationKey({ country: record.country, cityKey: record.cityKey })
    const seen = newest.get(key)
    if (seen === undefined || record.version >= seen.version) newest.set(key, record)
  }
  return [...newest.values()]
}

/** Records grouped by country: one check of a country's list for all of them. */
function byCountry (records: InvalidationRecord[]): Map<string, InvalidationRecord[]> {
  const countries = new Map<string, InvalidationRecord[]>()
  for (const record of records) {
    const group = countries.get(record.country)
    if (group === undefined) countries.set(record.country, [record])
    else group.push(record)
  }
  return countries
}

// Redis refused these keys themselves: one of the wrong type, or a script that failed on what they hold (a Lua error
// is 'ERR user_script:…'); other keys may be fine. Any other error reply (OOM, READONLY after a failover, LOADING,
// BUSY, CLUSTERDOWN, …) says Redis cannot apply anything for now: the whole pass fails, and is tried again.
const isRefusal = (error: unknown) => error instanceof ReplyError && /^(WRONGTYPE |ERR user_script:)/.test((error as Error).message)

/**
 * The cache-aside reads and the invalidations, composed from the pieces in
 * this folder: the key layout (keys.ts), the lease scripts
 * (lease-scripts.ts) and the lease-checked read of one entry
 * (read-through.ts, with single-flight.ts), the retried invalidations
 * (invalidations.ts) and the wait for replicas that makes them outlive a
 * failover (replicated-writes.ts), the record scripts (record-scripts.ts) that the sync
 * of durable invalidation records (record-sync.ts) applies, what operators
 * see of Redis (redis-health.ts), and the opt-in in-process tier
 * (local-tier.ts).
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
  defineCacheScripts(redis)
  defineRecordScripts(redis)

  const { localTier, namespace } = options
  const channel = invalidationChannel(namespace)
  const stats: CacheStats = {
    outcomes: { hit: 0, miss: 0, bypass: 0, stale: 0 },
    localHits: 0,
    fills: { stored: 0, refused: 0 },
    invalidations: { done: 0, failed: 0 },
    records: { applied: 0, deleted: 0 }
  }
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

  async function timed<T> (action: string, command: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      const result = await command()
      health.answered(started)
      return result
    } catch (error) {
      health.failed(started, error, action)
      throw error
    }
  }

  const writes = createReplicatedWrites(options.replication)
  // The sync applies records with the writes' client, so that it can wait for replicas as writes do.
  if (writes.redis !== redis) defineRecordScripts(writes.redis)
  // Replayed when the writes' own connection is back: it is the one that must reach Redis.
  const invalidations = createInvalidations(writes.redis, id => timed('invalidating the cache', async () => {
    const location = cacheKeys(namespace, id)
    const list = countryKeys(namespace, id.country)
    // Sent together (auto-pipelining), one slot each; if any fails, the whole invalidation is retried.
    await Promise.all([
      // The floor too: the lease it guarded is gone, and after a DELETE an older floor would refuse "not found".
      writes.del([location.value, location.stale, location.lease, location.floor]),
      writes.del([list.value, list.stale, list.lease, list.members]),
      localTier === undefined ? undefined : redis.publish(channel, locationKey(id))
    ])
  }))

  // Entries hold JSON null for "not found".
  const decodeLocation = createDecodedValues<StoredLocation | undefined>(DECODED_LOCATIONS, cached => JSON.parse(cached) ?? undefined)

  function locationEntry (id: LocationId, name: string): CacheEntry<StoredLocation> {
    return {
      name,
      valueKey: valueKey(namespace, id),
      keys: () => cacheKeys(namespace, id),
      decode: decodeLocation,
      load: () => store.find(id),
      version: location => location?.version ?? -1,
      isPending: () => invalidations.isPending(id)
    }
  }

  async function lookup (id: LocationId): Promise<CacheRead<StoredLocation>> {
    const name = locationKey(id)
    if (invalidations.isPending(id)) return await reads.bypass(locationEntry(id, name))
    let epoch = 0
    const tier = localTier?.subscribed === true ? localTier : undefined
    if (tier !== undefined) {
      const kept = tier.get(name)
      if (kept !== undefined) {
        stats.localHits++
        return { value: kept.location, outcome: 'hit' }
      }
      epoch = tier.epoch
    }
    const result = await reads.read(locationEntry(id, name))
    // Only what Redis answered: a miss was read from MySQL, and may be refused its fill.
    if (tier !== undefined && result.outcome === 'hit') tier.set(name, result.value, epoch)
    return result
  }

  const countryLists = createCountryListsKept()

  function countryEntry (country: string): CacheEntry<CountryCities> {
    const keys = countryKeys(namespace, country)
    return {
      // Each city's version beside the list: a record about one city is checked without reading the list.
      members: list => (list as CountryCities).cities.flatMap(city => [city.key, city.version]),
      membersKey: keys.members,
      decode: (cached, fill) => countryLists.decode(country, cached, fill),
      recall: fill => countryLists.recall(country, fill),
      remember: (fill, list) => countryLists.remember(country, fill, list as CountryCities),
      name: country,
      valueKey: keys.value,
      keys: () => keys,
      load: () => store.listCountry(country),
      // No record sets a list's floor (their script deletes the lease instead): never compared.
      version: () => -1,
      isPending: () => invalidations.isCountryPending(country)
    }
  }

  async function applyToLocation (record: InvalidationRecord): Promise<number> {
    const id = { country: record.country, cityKey: record.cityKey }
    localTier?.forgetOlder(locationKey(id), record.version, record.deleted)
    const location = cacheKeys(namespace, id)
    const deleted = await writes.redis.availabilityApplyToLocation(
      location.value, location.stale, location.lease, location.floor, record.version, record.deleted ? 1 : 0, options.leaseMs
    )
    // An entry older than the change was cached: a flight that may have read as old is joined by nobody from
    // now on. A floor alone ends none: after an API write (the common case) the flight in progress read the
    // write, and ending it would cost every instance a second MySQL read; after a change in SQL, a reader
    // that joins a flight older than it answers what that flight read, once (its fill is refused).
    if (deleted > 0) reads.end(locationKey(id))
    // A record counts as applied only once what it wrote would outlive a failover; until then the sync tries it
    // again. Always waited for: a retry finds the deletes done already, and must still confirm them.
    await writes.replicated(location.value)
    return deleted
  }

  /** One script for all of a country's records: each city is one hash lookup, whatever the size of the list. */
  async function applyToList (country: string, records: InvalidationRecord[]): Promise<number> {
    const list = countryKeys(namespace, country)
    const changes = records.flatMap(record => [record.cityKey, record.version, record.deleted ? 1 : 0])
    const deleted = await writes.redis.availabilityApplyToMembers(list.value, list.stale, list.lease, list.members, ...changes)
    if (deleted > 0) reads.end(country)
    await writes.replicated(list.value)
    return deleted
  }

  /**
   * Every record's scripts are sent at once, so auto-pipelining makes them one pipeline per pass
   * (one per node with a Cluster). Returns the records whose keys Redis refused.
   */
  // The entries whose keys Redis refuses: each is logged when it starts refusing, not on every pass.
  const refusing = new Set<string>()

  async function applyNewest (records: InvalidationRecord[]): Promise<InvalidationRecord[]> {
    const newest = newestByLocation(records)
    const countries = [...byCountry(newest)]
    const applying = [
      ...newest.map(record => ({ records: [record], entry: locationKey(record), done: applyToLocation(record) })),
      ...countries.map(([country, group]) => ({ records: group, entry: country, done: applyToList(country, group) }))
    ]
    const outcomes = await Promise.allSettled(applying.map(({ done }) => done))
    const refused = new Set<string>()
    for (const [index, outcome] of outcomes.entries()) {
      const { entry, records: named } = applying[index] as { entry: string, records: InvalidationRecord[] }
      if (outcome.status === 'fulfilled') {
        stats.records.deleted += outcome.value
        refusing.delete(entry)
        continue
      }
      if (!isRefusal(outcome.reason)) throw outcome.reason
      if (!refusing.has(entry)) {
        refusing.add(entry)
        options.log.warn({ err: outcome.reason, entry }, 'Redis refused an invalidation record\'s keys; trying it again apart from the others until it takes them')
      }
      for (const record of named) {
        refused.add(locationKey({ country: record.country, cityKey: record.cityKey }))
      }
    }
    // Older records of a refused location go with it: they are applied by its newest one.
    return records.filter(record => refused.has(locationKey({ country: record.country, cityKey: record.cityKey })))
  }

  return {
    async read (id) {
      const result = await lookup(id)
      stats.outcomes[result.outcome]++
      return result
    },

    async readCountry (country) {
      const entry = countryEntry(country)
      const result = await (invalidations.isCountryPending(country) ? reads.bypass(entry) : reads.read(entry))
      stats.outcomes[result.outcome]++
      return result
    },

    async invalidate (id) {
      localTier?.delete(locationKey(id))
      if (await invalidations.invalidate(id)) stats.invalidations.done++
      else stats.invalidations.failed++
      reads.end(locationKey(id))
      reads.end(id.country)
    },

    async applyRecords (records) {
      const refused = await timed('applying invalidation records', () => applyNewest(records))
      stats.records.applied += records.length - refused.length
      return refused
    },

    stats,

    get pendingInvalidations () { return invalidations.pending },

    localTier,

    close: () => invalidations.close()
  }
}
