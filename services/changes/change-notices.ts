import type { RedisClient } from '../cache/redis-client.ts'

/** The pub/sub channel on which every instance of a namespace announces that it wrote a change. */
export function changeChannel (namespace: string): string {
  return `${namespace}:v1:changes`
}

export interface ChangeNotices {
  /**
   * After a write, whatever its outcome (it may have committed): wakes this
   * instance's listeners at once and every other instance's through Redis.
   * Never waits and never fails: a lost message costs a change stream one
   * CACHE_SYNC_INTERVAL_MS, as a direct SQL edit does.
   */
  announce (): void
  /** Wakes this instance's listeners only: a change was seen another way (the record sync read its invalidation record). */
  noticed (): void
  /** Calls `listener` on this instance's own announcements and notices; returns how to stop. */
  listen (listener: () => void): () => void
}

export function createChangeNotices (redis: RedisClient, channel: string): ChangeNotices {
  const listeners = new Set<() => void>()
  return {
    announce () {
      this.noticed()
      redis.publish(channel, '').catch(() => {})
    },
    noticed () {
      for (const listener of listeners) listener()
    },
    listen (listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
}

/**
 * Calls `onNotice` for every announcement on `channel`, subscribing again on
 * every reconnection. What was announced while unsubscribed is not waited
 * for here: the record sync notices those changes by their invalidation
 * records within CACHE_SYNC_INTERVAL_MS. The connection is the caller's, in
 * subscriber mode, with autoResubscribe off.
 */
export function listenForNotices (subscriber: RedisClient, channel: string, onNotice: () => void): void {
  subscriber.on('message', onNotice)
  const subscribe = (): void => {
    subscriber.subscribe(channel).catch(() => {})
  }
  subscriber.on('ready', subscribe)
  subscribe()
}
