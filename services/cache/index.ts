import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { CacheOutcomeName, LocationData } from '../../schemas/location.ts'
import type { AvailabilityStore } from '../availability-store.ts'
import { isDatabaseUnavailable } from '../database/errors.ts'
import { locationKey, type LocationId } from '../location.ts'
import { createInvalidations } from './invalidations.ts'
import { cacheKeys, invalidationChannel, valueKey, type CacheKeys } from './keys.ts'
import { defineCacheScripts } from './lease-scripts.ts'
import type { LocalTier } from './local-tier.ts'
import { createRedisHealth, type RedisTimings } from './redis-health.ts'
import { createSingleFlight } from './single-flight.ts'

export { cacheKeys, deleteCacheNamespace, invalidationChannel } from './keys.ts'
export { createLocalTier, type LocalTier } from './local-tier.ts'
export type { RedisTimings } from './redis-health.ts'

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
  /** The opt-in in-process tier (CACHE_LOCAL_TTL_MS); without it every hit is a Redis GET. */
  localTier?: LocalTier
  /** Test seam: runs between a reader's MySQL read and its fill. */
  afterDatabaseRead?: (id: LocationId) => Promise<void>
}

export interface CacheRead {
  location: LocationData | undefined
  outcome: CacheOutcomeName
}

/** Counters for /metrics; plain numbers, so the hot path pays nothing for them. */
export interface CacheStats {
  outcomes: Record<CacheOutcomeName, number>
  /** Hits answered by the local tier, counted among the outcomes' hits too. */
  localHits: number
  /** Fills stored, and fills refused because a write took the reader's lease. */
  fills: { stored: number, refused: number }
  invalidations: { done: number, failed: number }
}

export interface AvailabilityCache {
  /** Cache-aside read: Redis first, MySQL on a miss, then fill. */
  read (id: LocationId): Promise<CacheRead>
  /** Called after every committed write, before it is acknowledged. Never throws. */
  invalidate (id: LocationId): Promise<void>
  readonly stats: CacheStats
  /** Invalidations that could not reach Redis yet. */
  readonly pendingInvalidations: number
  readonly localTier: LocalTier | undefined
  /** Stops retrying and makes one last attempt at the pending invalidations. */
  close (): Promise<void>
}

const LEASE_POLL_MS = 5
const HOT_PATH_SAMPLE = 16

/**
 * The cache-aside read and the invalidation, composed from the pieces in
 * this folder: the key layout (keys.ts), the lease scripts
 * (lease-scripts.ts), single flight (single-flight.ts), the retried
 * invalidations (invalidations.ts) and what operators see of Redis
 * (redis-health.ts), and the opt-in in-process tier (local-tier.ts).
 *
 * `value` holds the answer as JSON for the TTL, so a hit is one plain GET;
 * `stale` holds the same answer for the TTL plus the grace period, served
 * only while MySQL is down; `lease` names the one reader allowed to fill.
 *
 * Guarantees:
 * - no stale set: a fill succeeds only if no write deleted the lease since the
 *   reader's miss;
 * - one MySQL read per cold key: concurrent readers in this process share one
 *   flight, readers in other processes wait for the lease holder's fill;
 * - writes end the flight for their key, so a read that starts after a write
 *   is acknowledged never joins a read that started before it;
 * - an invalidation that cannot reach Redis is retried until it succeeds, and
 *   until then this process reads that location from MySQL only;
 * - with the local tier on, a write deletes the value and announces it to
 *   every instance's tier in one pipeline, and is retried as a whole; a tier
 *   keeps only what Redis answered, for at most its TTL.
 */
export function createAvailabilityCache (redis: Redis, store: AvailabilityStore, options: CacheOptions): AvailabilityCache {
  defineCacheScripts(redis)

  const freshMs = options.ttlSeconds * 1000
  const keepMs = (options.ttlSeconds + options.graceSeconds) * 1000
  const negativeMs = options.negativeTtlSeconds * 1000
  const tokenPrefix = randomUUID()
  let tokenCounter = 0
  let hotPathReads = 0

  const { localTier } = options
  const channel = invalidationChannel(options.namespace)
  const stats: CacheStats = {
    outcomes: { hit: 0, miss: 0, bypass: 0, stale: 0 },
    localHits: 0,
    fills: { stored: 0, refused: 0 },
    invalidations: { done: 0, failed: 0 }
  }
  const flights = createSingleFlight<CacheRead>()
  const health = createRedisHealth(options.log, options.timings)
  const invalidations = createInvalidations(redis, async id => {
    const keys = cacheKeys(options.namespace, id)
    const started = performance.now()
    try {
      // Both sent in one pipeline; if either fails, the whole invalidation is retried.
      await (localTier === undefined
        ? redis.del(keys.value, keys.stale, keys.lease)
        : Promise.all([redis.del(keys.value, keys.stale, keys.lease), redis.publish(channel, locationKey(id))]))
      health.answered(started)
    } catch (error) {
      health.failed(started, error, 'invalidating the cache')
      throw error
    }
  })

  // Entries hold JSON null for a location that does not exist.
  const parseEntry = (value: string): LocationData | undefined => JSON.parse(value) ?? undefined

  async function readFromDatabase (id: LocationId, outcome: CacheOutcomeName): Promise<CacheRead> {
    return { location: await store.find(id), outcome }
  }

  async function fillFromDatabase (id: LocationId, keys: CacheKeys, token: string, staleValue: string | null): Promise<CacheRead> {
    let location: LocationData | undefined
    try {
      location = await store.find(id)
    } catch (error) {
      redis.availabilityRelease(keys.lease, token).catch(() => {})
      if (isDatabaseUnavailable(error) && staleValue !== null) {
        return { location: parseEntry(staleValue), outcome: 'stale' }
      }
      throw error
    }
    await options.afterDatabaseRead?.(id)
    // A write whose invalidation is still pending may have happened after our read.
    if (!invalidations.isPending(id)) {
      const value = JSON.stringify(location ?? null)
      const [fresh, keep] = location === undefined ? [negativeMs, negativeMs] : [freshMs, keepMs]
      const started = performance.now()
      try {
        const stored = await redis.availabilityFill(keys.value, keys.stale, keys.lease, token, value, fresh, keep)
        health.answered(started)
        if (stored === 1) stats.fills.stored++
        else stats.fills.refused++
      } catch (error) {
        health.failed(started, error, 'filling the cache')
      }
    }
    return { location, outcome: 'miss' }
  }

  /** After a miss: take the lease and fill, or wait for whoever holds it. */
  async function readThrough (id: LocationId, keys: CacheKeys): Promise<CacheRead> {
    const token = `${tokenPrefix}:${++tokenCounter}`
    const deadline = Date.now() + options.leaseMs
    for (;;) {
      let reply: [string, string | null]
      const started = performance.now()
      try {
        reply = await redis.availabilityRead(keys.value, keys.stale, keys.lease, token, options.leaseMs)
        health.answered(started)
      } catch (error) {
        health.failed(started, error, 'reading the cache')
        return await readFromDatabase(id, 'bypass')
      }
      const [state, value] = reply
      if (state === 'hit') return { location: parseEntry(value as string), outcome: 'hit' }
      if (state === 'lease') return await fillFromDatabase(id, keys, token, value)
      // Another reader, maybe in another process, is filling this key: wait for its fill, but no
      // longer than a lease of ours would last (another instance's may be longer), then read MySQL.
      if (Date.now() >= deadline) return await readFromDatabase(id, 'miss')
      await sleep(LEASE_POLL_MS)
    }
  }

  async function lookup (id: LocationId): Promise<CacheRead> {
    if (invalidations.isPending(id)) return await readFromDatabase(id, 'bypass')
    let localKey: string | undefined
    let epoch = 0
    if (localTier?.subscribed === true) {
      localKey = locationKey(id)
      const entry = localTier.get(localKey)
      if (entry !== undefined) {
        stats.localHits++
        return { location: entry.location, outcome: 'hit' }
      }
      epoch = localTier.epoch
    }
    let value: string | null
    // The hot path times one GET in HOT_PATH_SAMPLE: a timing per hit costs more than it tells.
    const started = (++hotPathReads % HOT_PATH_SAMPLE === 0) ? performance.now() : Number.NaN
    try {
      value = await redis.get(valueKey(options.namespace, id))
      health.answered(started)
    } catch (error) {
      health.failed(started, error, 'reading the cache')
      return await flights.join(locationKey(id), () => readFromDatabase(id, 'bypass'))
    }
    // The hot path: every write deletes the value before it is acknowledged, so a value found is current.
    if (value !== null) {
      const location = parseEntry(value)
      if (localKey !== undefined) localTier?.set(localKey, location, epoch)
      return { location, outcome: 'hit' }
    }
    return await flights.join(locationKey(id), () => readThrough(id, cacheKeys(options.namespace, id)))
  }

  return {
    async read (id) {
      const result = await lookup(id)
      stats.outcomes[result.outcome]++
      return result
    },

    async invalidate (id) {
      localTier?.delete(locationKey(id))
      if (await invalidations.invalidate(id)) stats.invalidations.done++
      else stats.invalidations.failed++
      flights.end(locationKey(id))
    },

    stats,

    get pendingInvalidations () { return invalidations.pending },

    localTier,

    close: () => invalidations.close()
  }
}
