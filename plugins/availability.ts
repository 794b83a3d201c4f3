import fp from 'fastify-plugin'
import type { MetricsSink } from './metrics.ts'
import { createAvailabilityCache, type AvailabilityCache, type CacheOptions } from '../services/availability/location-cache.ts'
import { createLocalTier } from '../services/cache/local-tier.ts'
import { createRecordSync, type RecordSync } from '../services/cache/record-sync.ts'
import { invalidationChannel } from '../services/availability/location-keys.ts'
import { createAvailabilityStore, type AvailabilityStore, type StoredLocation } from '../services/availability/location-store.ts'
import { createAvailabilityService, type AvailabilityService } from '../services/availability/service.ts'
import { createInvalidationRecordStore, type InvalidationRecord } from '../services/availability/invalidation-records.ts'
import { createHistoryStore, type HistoryStore } from '../services/availability/history-store.ts'
import { changeChannel, createChangeNotices, type ChangeNotices } from '../services/changes/change-notices.ts'

declare module 'fastify' {
  interface FastifyInstance {
    availability: AvailabilityService
    availabilityStore: AvailabilityStore
    availabilityCache: AvailabilityCache
    /** Applies the durable invalidation records every CACHE_SYNC_INTERVAL_MS. */
    recordSync: RecordSync
    locationHistory: HistoryStore
    /** What writes announce their changes on, for the change streams (plugins/change-stream.ts). */
    changeNotices: ChangeNotices
  }
}

export interface AvailabilityPluginOptions {
  afterDatabaseRead?: CacheOptions['afterDatabaseRead']
  /** Test seam: how long the record sync looks for a skipped id (60 s). */
  recordGapWaitMs?: number
  /** Test seam: how many ids the record sync looks for again at most (10,000). */
  recordMaxGaps?: number
}

/** What the cache, its sync and the store count, as an operator reads it. */
function registerMetrics (metrics: MetricsSink, store: AvailabilityStore, cache: AvailabilityCache, recordSync: RecordSync): void {
  const { stats } = cache
  metrics.counter('nicaventas_cache_reads_total', 'Availability reads by cache outcome (hit, miss, bypass, stale)', 'outcome', () => stats.outcomes)
  metrics.counter('nicaventas_cache_fills_total', 'Cache fills after a miss: stored, or refused because a write took the lease', 'result', () => stats.fills)
  metrics.counter('nicaventas_cache_invalidations_total', 'Invalidations after writes: done, or failed and queued for retry', 'result', () => stats.invalidations)
  metrics.total('nicaventas_cache_local_hits_total', 'Hits answered by the in-process tier (CACHE_LOCAL_TTL_MS), also counted as outcome="hit" above', () => stats.localHits)
  metrics.gauge('nicaventas_cache_local_entries', 'Answers held by the in-process tier', () => cache.localTier?.size ?? 0)
  metrics.gauge('nicaventas_cache_local_subscribed', 'Whether the in-process tier is subscribed to invalidations and in use (1), or off or unsubscribed (0)', () => cache.localTier?.subscribed === true ? 1 : 0)
  metrics.total('nicaventas_cache_records_applied_total', 'Invalidation records (every change to locations, by whoever) applied to the cache by this instance\'s sync', () => stats.records.applied)
  metrics.total('nicaventas_cache_record_keys_deleted_total', 'Redis keys those records deleted: entries older than the change they record', () => stats.records.deleted)
  metrics.gauge('nicaventas_cache_records_applied_up_to', 'The newest invalidation record id this instance has applied', () => recordSync.appliedUpTo)
  metrics.gauge('nicaventas_cache_records_awaited', 'Record ids below that one not seen yet (transactions still open, or rolled back), looked for again for 60 s', () => recordSync.awaited)
  metrics.gauge('nicaventas_cache_pending_invalidations', 'Invalidations that could not reach Redis yet and are retried', () => cache.pendingInvalidations)
  metrics.counter('nicaventas_mysql_writes_rolled_back_total', 'Writes MySQL rolled back for concurrent ones (a deadlock, a lock wait): retried, or gave_up and answered 503', 'outcome', () => {
    const { retried, gaveUp } = store.rolledBackWrites
    return { retried, gave_up: gaveUp }
  })
}

/**
 * Applies the records, then wakes the change feed (plugins/change-stream.ts): every change writes its
 * invalidation record and its history row in one transaction, so records read mean history to stream,
 * and the feed asks MySQL only then; once they are applied, a subscriber told of a change reads the new value.
 */
function applyThenNotice (cache: AvailabilityCache, notices: ChangeNotices) {
  return async (records: InvalidationRecord[]) => {
    try {
      return await cache.applyRecords(records)
    } finally {
      if (records.length > 0) notices.noticed()
    }
  }
}

export default fp<AvailabilityPluginOptions>(async function availability (fastify, opts) {
  const { config } = fastify
  const store = createAvailabilityStore(fastify.database, { writeBudgetMs: config.DATABASE_WRITE_TIMEOUT_MS })
  const localTier = fastify.redisSubscriber === null
    ? undefined
    : createLocalTier<StoredLocation>(fastify.redisSubscriber, {
      channel: invalidationChannel(config.CACHE_NAMESPACE),
      ttlMs: config.CACHE_LOCAL_TTL_MS,
      maxEntries: config.CACHE_LOCAL_MAX_ENTRIES,
      log: fastify.log
    })
  const cache = createAvailabilityCache(fastify.redis, store, {
    namespace: config.CACHE_NAMESPACE,
    ttlSeconds: config.CACHE_TTL_SECONDS,
    negativeTtlSeconds: config.CACHE_NEGATIVE_TTL_SECONDS,
    graceSeconds: config.CACHE_GRACE_SECONDS,
    leaseMs: config.DATABASE_TIMEOUT_MS + 1000,
    // WAIT answers within its own timeout, well before the command's, even on a loaded machine.
    replication: { redis: fastify.redisForWrites, replicas: config.REDIS_WAIT_REPLICAS, waitMs: Math.max(1, Math.floor(config.REDIS_TIMEOUT_MS / 2)) },
    log: fastify.log,
    timings: fastify.metrics.timings,
    localTier,
    afterDatabaseRead: opts.afterDatabaseRead
  })
  const notices = createChangeNotices(fastify.redis, changeChannel(config.CACHE_NAMESPACE))
  fastify.decorate('changeNotices', notices)
  const recordSync = createRecordSync(createInvalidationRecordStore(fastify.database), applyThenNotice(cache, notices), {
    intervalMs: config.CACHE_SYNC_INTERVAL_MS,
    keyLifetimeSeconds: config.CACHE_TTL_SECONDS + config.CACHE_GRACE_SECONDS,
    log: fastify.log,
    gapWaitMs: opts.recordGapWaitMs,
    maxGaps: opts.recordMaxGaps
  })
  // Records left by a crashed instance or a direct SQL edit are applied before this one serves; with
  // Redis or MySQL unreachable it starts anyway (the warning is logged) and the next pass applies them.
  await recordSync.syncNow().catch(() => {})

  fastify.decorate('availabilityStore', store)
  fastify.decorate('availabilityCache', cache)
  fastify.decorate('recordSync', recordSync)
  const history = createHistoryStore(fastify.database)
  fastify.decorate('locationHistory', history)
  fastify.decorate('availability', createAvailabilityService(store, cache, history, notices))
  registerMetrics(fastify.metrics, store, cache, recordSync)
  // Registered after the Redis plugin, so it runs before the client quits: a last try at pending invalidations.
  fastify.addHook('onClose', async () => {
    await recordSync.close()
    localTier?.close()
    await cache.close()
  })
}, { name: 'availability', dependencies: ['config', 'metrics', 'mysql', 'redis'] })
