import type { CacheOutcome } from '../cache/entry.ts'

/** Counters for /metrics; plain numbers, so the hot path pays nothing for them. */
export interface CacheStats {
  outcomes: Record<CacheOutcome, number>
  /** Hits answered by the local tier, counted among the outcomes' hits too. */
  localHits: number
  /** Fills stored, and fills refused because a write took the reader's lease. */
  fills: { stored: number, refused: number }
  invalidations: { done: number, failed: number }
  /** Invalidation records applied by the sync, and the Redis keys they deleted. */
  records: { applied: number, deleted: number }
}

export function createCacheStats (): CacheStats {
  return {
    outcomes: { hit: 0, miss: 0, bypass: 0, stale: 0 },
    localHits: 0,
    fills: { stored: 0, refused: 0 },
    invalidations: { done: 0, failed: 0 },
    records: { applied: 0, deleted: 0 }
  }
}
