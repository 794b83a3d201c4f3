import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { CacheOutcomeName, LocationData } from '../schemas/location.ts'
import { isDatabaseUnavailable, type AvailabilityStore } from './availability-store.ts'
import { defineCacheScripts } from './cache-scripts.ts'
import type { LocationId } from './location.ts'

export interface CacheOptions {
  /** Namespace of every key; tests give each file its own. */
  namespace: string
  ttlSeconds: number
  negativeTtlSeconds: number
  graceSeconds: number
  /** How long a reader may hold the fill lease: longer than a MySQL read may take. */
  leaseMs: number
  log: FastifyBaseLogger
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
  /** Stops retrying and makes one last attempt at the pending invalidations. */
  close (): Promise<void>
}

const KEY_VERSION = 'v1'

export interface CacheKeys {
  value: string
  stale: string
  lease: string
}

/**
 * A location's keys: `<namespace>:v1:{<COUNTRY>:<cityKey>}:value|stale|lease`.
 * The country is always two letters and city keys carry no braces, so no two
 * locations share a key, and the braces (a Redis Cluster hash tag) keep a
 * location's keys in one slot.
 */
export function cacheKeys (namespace: string, id: LocationId): CacheKeys {
  const prefix = `${namespace}:${KEY_VERSION}:{${id.country}:${id.cityKey}}`
  return { value: `${prefix}:value`, stale: `${prefix}:stale`, lease: `${prefix}:lease` }
}

/** Deletes every key under a namespace: how the tests and the benchmark clean up after themselves. */
export async function deleteCacheNamespace (redis: Redis, namespace: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

const LEASE_POLL_MS = 5
const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2000

/**
 * The cache-aside protocol, in one place.
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
 *   until then this process reads that location from MySQL only.
 */
export function createAvailabilityCache (redis: Redis, store: AvailabilityStore, options: CacheOptions): AvailabilityCache {
  defineCacheScripts(redis)

  const freshMs = options.ttlSeconds * 1000
  const keepMs = (options.ttlSeconds + options.graceSeconds) * 1000
  const negativeMs = options.negativeTtlSeconds * 1000
  const tokenPrefix = randomUUID()
  let tokenCounter = 0

  const stats: CacheStats = {
    outcomes: { hit: 0, miss: 0, bypass: 0, stale: 0 },
    fills: { stored: 0, refused: 0 },
    invalidations: { done: 0, failed: 0 }
  }
  const flights = new Map<string, Promise<CacheRead>>()
  const pending = new Map<string, LocationId>()
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelayMs = RETRY_MIN_MS
  let closed = false

  const flightKey = (id: LocationId) => `${id.country}:${id.cityKey}`

  // Entries hold JSON null for a location that does not exist.
  const parseEntry = (value: string): LocationData | undefined => JSON.parse(value) ?? undefined

  function onRedisError (error: unknown, action: string): void {
    options.log.warn({ err: error }, `Redis unavailable while ${action}; answering from MySQL`)
  }

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
    if (!pending.has(flightKey(id))) {
      const value = JSON.stringify(location ?? null)
      const [fresh, keep] = location === undefined ? [negativeMs, negativeMs] : [freshMs, keepMs]
      try {
        const stored = await redis.availabilityFill(keys.value, keys.stale, keys.lease, token, value, fresh, keep)
        if (stored === 1) stats.fills.stored++
        else stats.fills.refused++
      } catch (error) {
        onRedisError(error, 'filling the cache')
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
      try {
        reply = await redis.availabilityRead(keys.value, keys.stale, keys.lease, token, options.leaseMs)
      } catch (error) {
        onRedisError(error, 'reading the cache')
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

  /** Concurrent misses of one key in this process share one read. */
  function joinFlight (key: string, read: () => Promise<CacheRead>): Promise<CacheRead> {
    let flight = flights.get(key)
    if (flight === undefined) {
      const started = read().finally(() => {
        if (flights.get(key) === started) flights.delete(key)
      })
      flights.set(key, started)
      flight = started
    }
    return flight
  }

  async function lookup (id: LocationId): Promise<CacheRead> {
    const key = flightKey(id)
    if (pending.has(key)) return await readFromDatabase(id, 'bypass')
    const keys = cacheKeys(options.namespace, id)
    let value: string | null
    try {
      value = await redis.get(keys.value)
    } catch (error) {
      onRedisError(error, 'reading the cache')
      return await joinFlight(key, () => readFromDatabase(id, 'bypass'))
    }
    // The hot path: every write deletes the value before it is acknowledged, so a value found is current.
    if (value !== null) return { location: parseEntry(value), outcome: 'hit' }
    return await joinFlight(key, () => readThrough(id, keys))
  }

  async function deleteKeys (id: LocationId): Promise<void> {
    const keys = cacheKeys(options.namespace, id)
    await redis.del(keys.value, keys.stale, keys.lease)
  }

  /**
   * Clears a pending invalidation once a delete sent after it succeeded; one
   * that a later write queued while the delete was on its way stays pending.
   */
  function settle (key: string, pendingWhenSent: LocationId | undefined): void {
    if (pending.get(key) === pendingWhenSent) pending.delete(key)
  }

  async function retryPending (): Promise<void> {
    retryTimer = undefined
    for (const [key, id] of pending) {
      try {
        await deleteKeys(id)
        settle(key, id)
      } catch {
        break
      }
    }
    if (pending.size > 0) scheduleRetry()
    else retryDelayMs = RETRY_MIN_MS
  }

  function scheduleRetry (): void {
    if (closed || retryTimer !== undefined) return
    retryTimer = setTimeout(() => { retryPending().catch(() => {}) }, retryDelayMs)
    retryTimer.unref()
    retryDelayMs = Math.min(retryDelayMs * 2, RETRY_MAX_MS)
  }

  // Redis is back: clear what we owe it before anything else reads from it.
  redis.on('ready', () => {
    if (pending.size === 0) return
    clearTimeout(retryTimer)
    retryPending().catch(() => {})
  })

  return {
    async read (id) {
      const result = await lookup(id)
      stats.outcomes[result.outcome]++
      return result
    },

    async invalidate (id) {
      const key = flightKey(id)
      const pendingWhenSent = pending.get(key)
      try {
        await deleteKeys(id)
        settle(key, pendingWhenSent)
        stats.invalidations.done++
      } catch (error) {
        stats.invalidations.failed++
        onRedisError(error, 'invalidating the cache')
        pending.set(key, id)
        scheduleRetry()
      }
      flights.delete(key)
    },

    stats,

    get pendingInvalidations () { return pending.size },

    async close () {
      closed = true
      clearTimeout(retryTimer)
      if (pending.size > 0) await retryPending()
    }
  }
}
