import type { RedisClient } from './redis-client.ts'
import { locationKey, type LocationId } from '../../domain/location.ts'

const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2000

export interface Invalidations {
  /** Deletes a location's keys; when Redis fails, keeps it pending and retries. Returns whether it was done now. */
  invalidate (id: LocationId): Promise<boolean>
  /** Whether a location still has an invalidation owed to Redis: this process must not read it from the cache. */
  isPending (id: LocationId): boolean
  /** Whether any location of a country has one: its list must not be read from the cache either. */
  isCountryPending (country: string): boolean
  readonly pending: number
  /** Stops retrying and makes one last attempt at what is pending. */
  close (): Promise<void>
}

/**
 * What must be deleted after a write, retried until it is: with backoff,
 * and at once when the connection comes back. At most one entry per
 * location and one timer, however long Redis stays away.
 */
export function createInvalidations (redis: RedisClient, deleteKeys: (id: LocationId) => Promise<void>): Invalidations {
  const pending = new Map<string, LocationId>()
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelayMs = RETRY_MIN_MS
  let closed = false

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
    async invalidate (id) {
      const key = locationKey(id)
      const pendingWhenSent = pending.get(key)
      try {
        await deleteKeys(id)
        settle(key, pendingWhenSent)
        return true
      } catch {
        pending.set(key, id)
        scheduleRetry()
        return false
      }
    },

    // Checked on every read: with nothing pending, no key string is built.
    isPending: id => pending.size > 0 && pending.has(locationKey(id)),

    isCountryPending (country) {
      for (const id of pending.values()) if (id.country === country) return true
      return false
    },

    get pending () { return pending.size },

    async close () {
      closed = true
      clearTimeout(retryTimer)
      if (pending.size > 0) await retryPending()
    }
  }
}
