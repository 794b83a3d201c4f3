import type { RedisClient } from './redis-client.ts'
import { decodeValue, type CacheEntry, type CacheRead } from './entry.ts'
import { createLeaseFill, type LeaseFillOptions } from './lease-fill.ts'
import { defineLeaseScripts } from './lease-scripts.ts'
import { createSingleFlight } from './single-flight.ts'

export type ReadThroughOptions = LeaseFillOptions

export interface ReadThrough {
  read<T> (entry: CacheEntry<T>): Promise<CacheRead<T>>
  /** Reads the source without the cache: an invalidation is still pending. */
  bypass<T> (entry: CacheEntry<T>): Promise<CacheRead<T>>
  /** Later readers of this entry start a flight of their own: a write happened. */
  end (name: string): void
}

const HOT_PATH_SAMPLE = 16

/**
 * The lease-checked cache-aside read of one entry: a plain GET of its
 * value; on a miss, the lease and fill of lease-fill.ts. Concurrent readers
 * in this process share one flight (single-flight.ts); readers in other
 * processes wait for the lease holder's fill. With Redis unreachable: the
 * source (`bypass`); with the source unreachable: the stale copy (`stale`).
 */
export function createReadThrough (redis: RedisClient, options: ReadThroughOptions): ReadThrough {
  const { health } = options
  const flights = createSingleFlight<CacheRead<unknown>>()
  const scripts = defineLeaseScripts(redis)
  const afterMiss = createLeaseFill(scripts, options)
  let hotPathReads = 0

  async function fromSource<T> (entry: CacheEntry<T>): Promise<CacheRead<T>> {
    return { value: await entry.load(), outcome: 'bypass' }
  }

  const join = <T>(entry: CacheEntry<T>, run: (entry: CacheEntry<T>) => Promise<CacheRead<T>>) =>
    flights.join(entry.name, () => run(entry)) as Promise<CacheRead<T>>

  return {
    async read (entry) {
      let value: string | null
      // The hot path times one GET in HOT_PATH_SAMPLE: a timing per hit costs more than it tells. It reports to
      // health itself rather than through health.timed, which would cost a closure on every hit.
      const started = (++hotPathReads % HOT_PATH_SAMPLE === 0) ? performance.now() : Number.NaN
      let fill: string | undefined
      try {
        // A big entry this process has decoded already costs one small read, not the whole value. The fill's
        // name is read first: the value read after it is that fill's or a newer one, never an older one.
        if ('membersKey' in entry) {
          fill = await scripts.fillName(entry.valueKey, entry.membersKey) ?? undefined
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
        return await join(entry, fromSource)
      }
      // Every write deletes the value before it is acknowledged, so a value found is current.
      if (value !== null) return { value: decodeValue(entry, value, fill), outcome: 'hit' }
      return await join(entry, afterMiss)
    },

    bypass: fromSource,

    end: name => flights.end(name)
  }
}
