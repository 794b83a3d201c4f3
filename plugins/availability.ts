import fp from 'fastify-plugin'
import { createAvailabilityCache, createLocalTier, invalidationChannel, type AvailabilityCache, type CacheOptions } from '../services/cache/index.ts'
import { createAvailabilityStore, type AvailabilityStore } from '../services/availability-store.ts'
import { createAvailabilityService, type AvailabilityService } from '../services/availability.ts'

declare module 'fastify' {
  interface FastifyInstance {
    availability: AvailabilityService
    availabilityStore: AvailabilityStore
    availabilityCache: AvailabilityCache
  }
}

export interface AvailabilityPluginOptions {
  afterDatabaseRead?: CacheOptions['afterDatabaseRead']
}

export default fp<AvailabilityPluginOptions>(async function availability (fastify, opts) {
  const { config } = fastify
  const store = createAvailabilityStore(fastify.database)
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
    log: fastify.log,
    timings: fastify.dependencyTimings,
    localTier,
    afterDatabaseRead: opts.afterDatabaseRead
  })
  fastify.decorate('availabilityStore', store)
  fastify.decorate('availabilityCache', cache)
  fastify.decorate('availability', createAvailabilityService(store, cache))
  // Registered after the Redis plugin, so it runs before the client quits: a last try at pending invalidations.
  fastify.addHook('onClose', async () => {
    localTier?.close()
    await cache.close()
  })
}, { name: 'availability', dependencies: ['config', 'mysql', 'redis'] })
