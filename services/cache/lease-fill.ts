import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { isDatabaseUnavailable } from '../database/errors.ts'
import { decodeValue, encodeValue, type CacheEntry, type CacheRead } from './entry.ts'
import type { FillValue, LeaseScripts } from './lease-scripts.ts'
import type { RedisHealth } from './redis-health.ts'

export interface LeaseFillOptions {
  freshMs: number
  /** How long the stale copy is kept: the TTL plus the grace period. */
  keepMs: number
  negativeMs: number
  /** How long a reader may hold the fill lease: longer than a source read may take. */
  leaseMs: number
  health: RedisHealth
  /** Counts fills stored, and fills refused because a write took the reader's lease or a record's change is newer. */
  fills: { stored: number, refused: number }
  /** Test seam: runs between a reader's source read and its fill. */
  afterDatabaseRead?: (entry: string) => Promise<void>
}

const LEASE_POLL_MS = 5

/**
 * What a reader does after its GET missed: a script that takes the fill
 * lease, the lease holder's read of the source, and a fill that lands only
 * while the lease is still its own (every write deletes it: no stale set);
 * a reader that finds the lease held waits for its holder's fill. With the
 * source unreachable, the lease holder answers the stale copy.
 */
export function createLeaseFill (scripts: LeaseScripts, options: LeaseFillOptions): <T>(entry: CacheEntry<T>) => Promise<CacheRead<T>> {
  const { health, fills } = options
  const tokenPrefix = randomUUID()
  let tokenCounter = 0

  function store<T> (entry: CacheEntry<T>, token: string, value: T | undefined): Promise<number> {
    const [freshMs, keepMs] = value === undefined ? [options.negativeMs, options.negativeMs] : [options.freshMs, options.keepMs]
    const fill: FillValue = { token, encoded: encodeValue(entry, value), freshMs, keepMs }
    return 'membersKey' in entry
      ? scripts.fillWithMembers(entry.keys(), fill, entry.members(value))
      : scripts.fillAboveFloor(entry.keys(), fill, entry.version(value))
  }

  async function fill<T> (entry: CacheEntry<T>, leaseKey: string, token: string, staleValue: string | null): Promise<CacheRead<T>> {
    let value: T | undefined
    try {
      value = await entry.load()
    } catch (error) {
      scripts.release(leaseKey, token).catch(() => {})
      if (isDatabaseUnavailable(error) && staleValue !== null) return { value: decodeValue(entry, staleValue), outcome: 'stale' }
      throw error
    }
    await options.afterDatabaseRead?.(entry.name)
    // A write whose invalidation is still pending may have happened after our read.
    if (!entry.isPending()) {
      const stored = await health.timed('filling the cache', () => store(entry, token, value)).catch(() => undefined)
      if (stored === 1) {
        fills.stored++
        if ('remember' in entry) entry.remember(token, value)
      } else if (stored === 0) {
        fills.refused++
      }
    }
    return { value, outcome: 'miss' }
  }

  return async function afterMiss<T> (entry: CacheEntry<T>): Promise<CacheRead<T>> {
    const keys = entry.keys()
    const token = `${tokenPrefix}:${++tokenCounter}`
    const deadline = Date.now() + options.leaseMs
    for (;;) {
      let reply: [string, string | null]
      try {
        reply = await health.timed('reading the cache', () => scripts.read(keys, token, options.leaseMs))
      } catch {
        return { value: await entry.load(), outcome: 'bypass' }
      }
      const [state, value] = reply
      if (state === 'hit') return { value: decodeValue(entry, value as string), outcome: 'hit' }
      if (state === 'lease') return await fill(entry, keys.lease, token, value)
      // Another reader, maybe in another process, is filling this key: wait for its fill, but no
      // longer than a lease of ours would last (another instance's may be longer), then read the source.
      if (Date.now() >= deadline) return { value: await entry.load(), outcome: 'miss' }
      await sleep(LEASE_POLL_MS)
    }
  }
}
