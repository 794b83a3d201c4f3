import fp from 'fastify-plugin'
import {
  createAvailabilityCache, createLocalTier, createRecordSync, invalidationChannel,
  type AvailabilityCache, type CacheOptions, type RecordSync
} from '../services/cache/index.ts'
import { createAvailabilityStore, type AvailabilityStore } from '../services/availability-store.ts'
import { createAvailabilityService, type AvailabilityService } from '../services/availability.ts'
import { createInvalidationRecordStore } from '../services/invalidation-records.ts'
import { createHistoryStore, type HistoryStore } from '../services/location-history.ts'

declare module 'fastify' {
  interface FastifyInstance {
    availability: AvailabilityService
    availabilityStore: AvailabilityStore
    availabilityCache: AvailabilityCache
    /** Applies the durable invalidation records every CACHE_SYNC_INTERVAL_MS. */
    recordSync: RecordSync
    locationHistory: HistoryStore
  }
}

export interface AvailabilityPluginOptions {
  afterDatabaseRead?: CacheOptions['afterDatabaseRead']
  /** Test seam: how long the record sync looks for a skipped id (60 s). */
  recordGapWaitMs?: number
  /** Test seam: how many ids the record sync looks for again at most (10,000). */
  recordMaxGaps?: number
}

export default fp<AvailabilityPluginOptions>(async function availability (fastify, opts) {
  const { config } = fastify
  const store = createAvailabilityStore(fastify.database, { writeBudgetMs: config.DATABASE_WRITE_TIMEOUT_MS })
  const localTier = fastify.redisSubscriber === null
    ? undefined
    : createLocalTier(fastify.redisSubscriber, {
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
    timings: fastify.dependencyTimings,
    localTier,
    afterDatabaseRead: opts.afterDatabaseRead
  })
  const recordSync = createRecordSync(createInvalidationRecordStore(fastify.database), records => cache.applyRecords(records), {
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
  fastify.decorate('availability', createAvailabilityService(store, cache, history))
  // Registered after the Redis plugin, so it runs before the client quits: a last try at pending invalidations.
  fastify.addHook('onClose', async () => {
    await recordSync.close()
    localTier?.close()
    await cache.close()
  })
}, { name: 'availability', dependencies: ['config', 'mysql', 'redis'] })
