import fp from 'fastify-plugin'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
    /** A second connection, in subscriber mode, for the local tier's invalidations; null while the tier is off. */
    redisSubscriber: Redis | null
  }
}

const RECONNECT_MAX_MS = 2000

/**
 * The Redis client, tuned to fail fast: no offline queue and a short command
 * timeout, so a request never waits for a Redis that is gone, and reconnects
 * with backoff in the background.
 *
 * Not @fastify/redis: its registration waits for the first `ready` event, so
 * with Redis down the service would not start at all (a plugin timeout),
 * while ours must start and serve from MySQL. What it would add beyond that
 * is the decoration and the `quit` on close, both below.
 */
export default fp(async function redis (fastify) {
  const { config } = fastify
  const client = new Redis({
    host: config.REDIS_LOCATION,
    port: config.REDIS_PORT,
    password: config.REDIS_PASSWORD,
    db: config.REDIS_DB,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_TIMEOUT_MS,
    connectTimeout: Math.max(config.REDIS_TIMEOUT_MS * 4, 1000),
    retryStrategy: attempt => Math.min(50 * 2 ** attempt, RECONNECT_MAX_MS)
  })

  let reportedDown = false
  client.on('error', (error: Error) => {
    // ioredis reports every failed reconnection; one warning per outage is enough.
    if (reportedDown) return
    reportedDown = true
    fastify.log.warn({ err: error }, 'Redis unreachable: reads go to MySQL until it answers')
  })
  client.on('ready', () => {
    if (reportedDown) fastify.log.info('Redis answers again')
    reportedDown = false
  })

  try {
    await client.connect()
  } catch {
    // Already reported by the error listener; ioredis keeps reconnecting.
  }

  // Subscribes itself on every 'ready' (services/cache/local-tier.ts): resubscribing is ours, so the tier knows when it happened.
  const subscriber = config.CACHE_LOCAL_TTL_MS > 0 ? client.duplicate({ autoResubscribe: false }) : null
  subscriber?.on('error', () => {
    // The command connection reports the same outage; the tier logs losing its subscription.
  })
  await subscriber?.connect().catch(() => {})

  fastify.decorate('redis', client)
  fastify.decorate('redisSubscriber', subscriber)
  fastify.addHook('onClose', async () => {
    // A connection lost while quitting leaves nothing to wait for; closing the app must not fail for it.
    await Promise.all([client, subscriber].map(connection => connection?.quit().catch(() => connection.disconnect())))
  })
}, { name: 'redis', dependencies: ['config'] })
