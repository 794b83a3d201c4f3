import { setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisClient } from '../services/cache/redis-client.ts'
import type { Config } from '../config/read-config.ts'
import { createEpisodeLog } from '../logging/episode-log.ts'
import { watchCommands } from '../services/redis/command-watchdog.ts'

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
    /**
     * What writes invalidate with: `redis` itself, or with REDIS_WAIT_REPLICAS a client of their
     * own, since WAIT blocks its connection while replicas catch up (services/cache/replicated-writes.ts).
     */
    redisForWrites: RedisClient
    /** A second connection, in subscriber mode, for the local tier's invalidations; null while the tier is off (always with a Cluster). */
    redisSubscriber: Redis | null
  }
}

const RECONNECT_MAX_MS = 2000
// How often a Cluster client asks for the slot map: after a failover, commands for the dead
// master's slots fail (and are answered from MySQL) until the map names the replica that took over.
const CLUSTER_SLOTS_REFRESH_MS = 1000

const reconnectDelay = (attempt: number) => Math.min(50 * 2 ** attempt, RECONNECT_MAX_MS)

interface Connections {
  client: RedisClient
  forWrites: RedisClient
  subscriber: Redis | null
}

/**
 * The client for the configured topology, every one tuned to fail fast: no
 * offline queue and a short command timeout (the watchdog's), so a request never waits for
 * a Redis that is gone, and reconnects with backoff in the background.
 * With the local tier on, a second connection subscribes to invalidations;
 * the configuration refuses the tier with a Cluster (config/redis-topology.ts).
 */
/** How long a connection, a slot map, a Sentinel's answer or QUIT may take: longer than a command, and a second at least. */
const slowStepMs = (config: Config) => Math.max(config.REDIS_TIMEOUT_MS * 4, 1000)

function connect (config: Config): Connections {
  const { REDIS_TOPOLOGY: topology } = config
  const perConnection: RedisOptions = {
    password: config.REDIS_PASSWORD,
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    // No commandTimeout: one watchdog per client times the commands out (services/redis/command-watchdog.ts).
    connectTimeout: slowStepMs(config)
  }
  if (topology.kind === 'cluster') {
    const client = new Cluster(topology.seeds, {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      // Replicas answer a moment behind their master: a read there could miss an acknowledged write's invalidation.
      scaleReads: 'master',
      // No waiting and retrying inside ioredis while a node is down or the cluster is electing: the request goes to MySQL.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
      slotsRefreshTimeout: slowStepMs(config),
      clusterRetryStrategy: reconnectDelay,
      redisOptions: perConnection
    })
    return { client, forWrites: forWrites(client, config), subscriber: null }
  }
  const where = topology.kind === 'single'
    ? { host: topology.node.host, port: topology.node.port }
    : {
        sentinels: topology.sentinels,
        name: topology.name,
        // Sentinels announce a new primary: reconnect to it at once rather than at the next failed command.
        failoverDetector: true,
        sentinelCommandTimeout: slowStepMs(config),
        sentinelRetryStrategy: reconnectDelay
      }
  const client = new Redis({ ...perConnection, ...where, db: config.REDIS_DB, enableOfflineQueue: false, retryStrategy: reconnectDelay })
  // Subscribes itself on every 'ready' (services/cache/local-tier.ts): resubscribing is ours, so the tier knows when it happened.
  const subscriber = config.CACHE_LOCAL_TTL_MS > 0 ? client.duplicate({ autoResubscribe: false }) : null
  return { client, forWrites: forWrites(client, config), subscriber }
}

function forWrites (client: RedisClient, config: Config): RedisClient {
  if (config.REDIS_WAIT_REPLICAS === 0) return client
  // The same settings, another connection (one per node with a Cluster). Two calls, one per type:
  // the union's two duplicate() signatures cannot be called as one.
  return client instanceof Cluster ? client.duplicate() : client.duplicate()
}

/**
 * Decorates the instance with the cache's Redis client (config/redis-topology.ts
 * says which topology), and the local tier's subscriber.
 *
 * Not @fastify/redis: its registration waits for the first `ready` event, so
 * with Redis down the service would not start at all (a plugin timeout),
 * while ours must start and serve from MySQL. What it would add beyond that
 * is the decoration and the `quit` on close, both below.
 */
export default fp(async function redis (fastify) {
  const { config } = fastify
  const { client, forWrites: writes, subscriber } = connect(config)

  // ioredis reports every failed reconnection; one warning per outage is enough.
  const outage = createEpisodeLog()
  client.on('error', (error: Error) => {
    outage.failed(() => fastify.log.warn({ err: error }, 'Redis unreachable: reads go to MySQL until it answers'))
  })
  client.on('ready', () => {
    outage.recovered(() => fastify.log.info('Redis answers again'))
  })

  try {
    await client.connect()
  } catch {
    // Already reported by the error listener; ioredis keeps reconnecting.
  }

  subscriber?.on('error', () => {
    // The command connection reports the same outage; the tier logs losing its subscription.
  })
  await subscriber?.connect().catch(() => {})
  const ownWrites = writes === client ? null : writes
  ownWrites?.on('error', () => {
    // The same outage as the command connection's, reported there.
  })
  await ownWrites?.connect().catch(() => {})
  // A command unanswered for REDIS_TIMEOUT_MS fails, and its request goes to MySQL.
  const watchdog = watchCommands([client, ...[ownWrites, subscriber].filter(connection => connection !== null)], config.REDIS_TIMEOUT_MS)

  fastify.decorate<RedisClient>('redis', client)
  fastify.decorate<RedisClient>('redisForWrites', writes)
  fastify.decorate('redisSubscriber', subscriber)
  fastify.addHook('onClose', async () => {
    // A connection lost while quitting leaves nothing to wait for; closing the app must not fail for it,
    // nor wait long for a node that does not answer (a Cluster's QUIT goes to every node it knows).
    // disconnect() after QUIT as well: only it closes the Sentinel client's failover detector, whose
    // subscriptions to the Sentinels would otherwise keep reconnecting, and the process alive.
    const quitWithin = slowStepMs(config)
    await Promise.all([client, ownWrites, subscriber].map(async connection => {
      if (connection === null) return
      await Promise.race([connection.quit().catch(() => {}), sleep(quitWithin, undefined, { ref: false })])
      connection.disconnect()
    }))
    watchdog.stop()
  })
}, { name: 'redis', dependencies: ['config'] })
