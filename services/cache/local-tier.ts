import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { createEpisodeLog } from '../../logging/episode-log.ts'

export interface LocalTierOptions {
  /** The pub/sub channel the instances of one namespace announce their invalidations on. */
  channel: string
  /** How long an answer may be served from this process's memory. */
  ttlMs: number
  maxEntries: number
  log: FastifyBaseLogger
}

/** An answer kept in memory; `value` is undefined for an entry known not to exist. */
interface LocalEntry<T> {
  value: T | undefined
}

export interface LocalTier<T> {
  /** The kept answer, or undefined when there is none, it expired, or the tier is not subscribed. */
  get (key: string): LocalEntry<T> | undefined
  /**
   * Keeps an answer read from Redis, unless an invalidation arrived (or the
   * subscription dropped) since `epoch` was read before the Redis GET: its
   * message may have overtaken the GET's reply on the other connection.
   */
  set (key: string, value: T | undefined, epoch: number): void
  /** Forgets one entry, as this instance's own write does before it publishes. */
  delete (key: string): void
  /** Forgets one entry unless what it holds is still `current` after a recorded change (record-sync.ts). */
  forgetUnless (key: string, current: (value: T | undefined) => boolean): void
  /** Changes with every invalidation received and every clear. */
  readonly epoch: number
  /** Whether the subscription is up, so the tier may be used. */
  readonly subscribed: boolean
  readonly size: number
  close (): void
}

/**
 * The opt-in in-process tier in front of Redis: answers kept in a bounded
 * LRU for at most `ttlMs`, forgotten when any instance announces a write on
 * the namespace's channel. Pub/sub delivers only to a connected subscriber,
 * so a message sent while the subscription is down is lost: the tier is
 * cleared the moment the connection drops and stays unused until it is
 * subscribed again (the libraries that do this elsewhere keep serving what
 * they hold across a reconnect). A message lost on a connection that looks
 * alive costs at most `ttlMs` of an old answer.
 */
// One factory kept whole: the subscription's handlers and the tier's methods share its entries, epoch and state.
export function createLocalTier<T> (subscriber: Redis, options: LocalTierOptions): LocalTier<T> {
  const entries = new LRUCache<string, LocalEntry<T>>({ max: options.maxEntries, ttl: options.ttlMs })
  let epoch = 0
  let subscribed = false
  let closed = false
  const unsubscribed = createEpisodeLog()

  function forgetEverything (): void {
    epoch++
    entries.clear()
  }

  function onSubscribed (): void {
    // Whatever was announced before this point may have been missed.
    forgetEverything()
    subscribed = true
    unsubscribed.recovered(() => options.log.info('Local cache tier subscribed again: in use'))
  }

  /** On start and on every reconnection; a connection that is down refuses at once, and its next 'ready' tries again. */
  function subscribe (): void {
    subscriber.subscribe(options.channel).then(onSubscribed, forgetEverything)
  }

  subscriber.on('message', (_channel: string, key: string) => {
    // The connection is subscribed to our channel only.
    epoch++
    entries.delete(key)
  })
  subscriber.on('close', () => {
    if (subscribed && !closed) {
      unsubscribed.failed(() => options.log.warn('Local cache tier lost its subscription: cleared, and unused until it is subscribed again'))
    }
    subscribed = false
    forgetEverything()
  })
  subscriber.on('ready', subscribe)
  subscribe()

  return {
    get: key => subscribed ? entries.get(key) : undefined,
    set (key, value, readAt) {
      if (subscribed && readAt === epoch) entries.set(key, { value })
    },
    delete (key) {
      epoch++
      entries.delete(key)
    },
    forgetUnless (key, current) {
      const entry = entries.peek(key)
      if (entry === undefined || current(entry.value)) return
      epoch++
      entries.delete(key)
    },
    get epoch () { return epoch },
    get subscribed () { return subscribed },
    get size () { return entries.size },
    close () {
      closed = true
      subscribed = false
      forgetEverything()
    }
  }
}
