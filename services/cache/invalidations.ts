import type { RedisClient } from './redis-client.ts'

const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2000

export interface Invalidations<K> {
  /** Deletes what `id` names; when Redis fails, keeps it pending and retries. Returns whether it was done now. */
  invalidate (id: K): Promise<boolean>
  /** Whether `id` still has an invalidation owed to Redis: this process must not read it from the cache. */
  isPending (id: K): boolean
  /** Whether any pending id matches: an entry made of several (a list) must not be read from the cache either. */
  somePending (matches: (id: K) => boolean): boolean
  readonly pending: number
  /** Stops retrying and makes one last attempt at what is pending. */
  close (): Promise<void>
}

/**
 * What must be deleted after a write, retried until it is: with backoff,
 * and at once when the connection comes back. At most one entry per id
 * (`keyOf` names it) and one timer, however long Redis stays away.
 * Kept whole: the retry, the timer and the methods share one pending map.
 */
export function createInvalidations<K> (redis: RedisClient, keyOf: (id: K) => string, deleteKeys: (id: K) => Promise<void>): Invalidations<K> {
  const pending = new Map<string, K>()
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelayMs = RETRY_MIN_MS
  let closed = false

  /**
   * Clears a pending invalidation once a delete sent after it succeeded; one
   * that a later write queued while the delete was on its way stays pending.
   */
  function settle (key: string, pendingWhenSent: K | undefined): void {
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
      const key = keyOf(id)
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
    isPending: id => pending.size > 0 && pending.has(keyOf(id)),

    somePending (matches) {
      for (const id of pending.values()) if (matches(id)) return true
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
