import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { RedisClient } from './redis-client.ts'
import type { CacheOutcomeName } from '../../schemas/location.ts'
import { isDatabaseUnavailable } from '../database/errors.ts'
import type { CacheKeys } from './keys.ts'
import type { RedisHealth } from './redis-health.ts'
import { createSingleFlight } from './single-flight.ts'

/** One cached answer: a location, or a country's list. */
export interface CacheEntry<T> {
  /** Names the entry in this process: single flights, and the test seam. */
  name: string
  /** The value key alone: all a hit reads. */
  valueKey: string
  /** All three keys, built only after a miss. */
  keys: () => CacheKeys
  /** Reads it from MySQL; undefined for "not found", cached for the negative TTL. */
  load: () => Promise<T | undefined>
  /** The version a fill holds, compared with a floor an applied record set; -1 for "not found". */
  version: (value: T | undefined) => number
  /** Whether a write to it is still owed to Redis: then nothing read from MySQL may be cached. */
  isPending: () => boolean
  /**
   * For an entry made of members (its keys name a members hash): member, version pairs, stored
   * with the value so that a record about one member is checked without reading the value.
   */
  members?: (value: T | undefined) => Array<string | number>
  /** The members hash alone, for the hot path: its field '' names the fill that wrote the value (lease-scripts.ts). */
  membersKey?: string
  /**
   * Turns a cached value back into T (JSON by default). `fill` names the fill that wrote it, when
   * known: an entry may keep what it decoded under that name, and `recall` it.
   */
  decode?: (cached: string, fill: string | undefined) => T | undefined
  /** What was decoded from, or filled by, that fill if still kept: a hit then reads no value. */
  recall?: (fill: string) => T | undefined
  /** Called with what this process filled, under its fill's name. */
  remember?: (fill: string, value: T | undefined) => void
}

export interface CacheRead<T> {
  value: T | undefined
  outcome: CacheOutcomeName
}

export interface ReadThroughOptions {
  freshMs: number
  /** How long the stale copy is kept: the TTL plus the grace period. */
  keepMs: number
  negativeMs: number
  /** How long a reader may hold the fill lease: longer than a MySQL read may take. */
  leaseMs: number
  health: RedisHealth
  /** Counts fills stored, and fills refused because a write took the reader's lease or a record's change is newer. */
  fills: { stored: number, refused: number }
  /** Test seam: runs between a reader's MySQL read and its fill. */
  afterDatabaseRead?: (entry: string) => Promise<void>
}

export interface ReadThrough {
  read<T> (entry: CacheEntry<T>): Promise<CacheRead<T>>
  /** Reads MySQL without the cache: an invalidation is still pending. */
  bypass<T> (entry: CacheEntry<T>): Promise<CacheRead<T>>
  /** Later readers of this entry start a flight of their own: a write happened. */
  end (name: string): void
}

const LEASE_POLL_MS = 5
const HOT_PATH_SAMPLE = 16

// Entries hold JSON null for "not found".
const parseJson = <T>(value: string): T | undefined => JSON.parse(value) ?? undefined
const parseEntry = <T>(entry: CacheEntry<T>, value: string, fill?: string): T | undefined =>
  entry.decode === undefined ? parseJson<T>(value) : entry.decode(value, fill)

/**
 * The lease-checked cache-aside read of one entry: a plain GET of its
 * value; on a miss, a script that takes the fill lease, the lease holder's
 * MySQL read, and a fill that lands only while the lease is still its own
 * (every write deletes it: no stale set). Concurrent readers in this
 * process share one flight; readers in other processes wait for the lease
 * holder's fill. With Redis unreachable: MySQL (`bypass`); with MySQL
 * unreachable: the stale copy (`stale`).
 */
export function createReadThrough (redis: RedisClient, options: ReadThroughOptions): ReadThrough {
  const { health, fills } = options
  const flights = createSingleFlight<CacheRead<unknown>>()
  const tokenPrefix = randomUUID()
  let tokenCounter = 0
  let hotPathReads = 0

  async function fromDatabase<T> (entry: CacheEntry<T>): Promise<CacheRead<T>> {
    return { value: await entry.load(), outcome: 'bypass' }
  }

  async function fill<T> (entry: CacheEntry<T>, keys: CacheKeys, token: string, staleValue: string | null): Promise<CacheRead<T>> {
    let value: T | undefined
    try {
      value = await entry.load()
    } catch (error) {
      redis.availabilityRelease(keys.lease, token).catch(() => {})
      if (isDatabaseUnavailable(error) && staleValue !== null) return { value: parseEntry(entry, staleValue), outcome: 'stale' }
      throw error
    }
    await options.afterDatabaseRead?.(entry.name)
    // A write whose invalidation is still pending may have happened after our read.
    if (!entry.isPending()) {
      const [fresh, keep] = value === undefined ? [options.negativeMs, options.negativeMs] : [options.freshMs, options.keepMs]
      const started = performance.now()
      try {
        const encoded = JSON.stringify(value ?? null)
        const stored = keys.members === undefined || entry.members === undefined
          ? await redis.availabilityFill(keys.value, keys.stale, keys.lease, keys.floor, token, encoded, fresh, keep, entry.version(value))
          : await redis.availabilityFillWithMembers(
            keys.value, keys.stale, keys.lease, keys.floor, keys.members, token, encoded, fresh, keep, entry.version(value), ...entry.members(value)
          )
        health.answered(started)
        if (stored === 1) {
          fills.stored++
          entry.remember?.(token, value)
        } else {
          fills.refused++
        }
      } catch (error) {
        health.failed(started, error, 'filling the cache')
      }
    }
    return { value, outcome: 'miss' }
  }

  /** After a miss: take the lease and fill, or wait for whoever holds it. */
  async function afterMiss<T> (entry: CacheEntry<T>): Promise<CacheRead<T>> {
    const keys = entry.keys()
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
        return await fromDatabase(entry)
      }
      const [state, value] = reply
      if (state === 'hit') return { value: parseEntry(entry, value as string), outcome: 'hit' }
      if (state === 'lease') return await fill(entry, keys, token, value)
      // Another reader, maybe in another process, is filling this key: wait for its fill, but no
      // longer than a lease of ours would last (another instance's may be longer), then read MySQL.
      if (Date.now() >= deadline) return { value: await entry.load(), outcome: 'miss' }
      await sleep(LEASE_POLL_MS)
    }
  }

  const join = <T>(entry: CacheEntry<T>, run: (entry: CacheEntry<T>) => Promise<CacheRead<T>>) =>
    flights.join(entry.name, () => run(entry)) as Promise<CacheRead<T>>

  return {
    async read (entry) {
      let value: string | null
      // The hot path times one GET in HOT_PATH_SAMPLE: a timing per hit costs more than it tells.
      const started = (++hotPathReads % HOT_PATH_SAMPLE === 0) ? performance.now() : Number.NaN
      let fill: string | undefined
      try {
        // A big entry this process has decoded already costs one small read, not the whole value. The fill's
        // name is read first: the value read after it is that fill's or a newer one, never an older one.
        if (entry.membersKey !== undefined && entry.recall !== undefined) {
          fill = await redis.availabilityFillName(entry.valueKey, entry.membersKey) ?? undefined
          const kept = fill === undefined ? undefined : entry.recall(fill)
          if (kept !== undefined) {
            health.answered(started)
            return { value: kept, outcome: 'hit' }
          }
        }
        value = await redis.get(entry.valueKey)
        health.answered(started)
      } catch (error) {
        health.failed(started, error, 'reading the cache')
        return await join(entry, fromDatabase)
      }
      // Every write deletes the value before it is acknowledged, so a value found is current.
      if (value !== null) return { value: parseEntry(entry, value, fill), outcome: 'hit' }
      return await join(entry, afterMiss)
    },

    bypass: fromDatabase,

    end: name => flights.end(name)
  }
}
