import fp from 'fastify-plugin'
import { Cluster } from 'ioredis'
import type { RedisClient } from '../services/cache/redis-client.ts'
import { createChangeFanOut, type ChangeFanOut } from '../services/changes/change-fan-out.ts'
import { createChangeFeed, type ChangeFeed } from '../services/changes/change-feed.ts'
import { createChangeLog } from '../services/changes/change-log.ts'
import { changeChannel, listenForNotices } from '../services/changes/change-notices.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The subscribers of GET /active/events and OFREP's event stream on this instance. */
    changeStream: ChangeFanOut
    /** Reads the change history in id order for them. */
    changeFeed: ChangeFeed
  }
}

/** A connection of the feed's own in subscriber mode: the local tier's may be off, and is unused with a Cluster. */
function subscriberFor (redis: RedisClient): RedisClient {
  return redis instanceof Cluster ? redis.duplicate() : redis.duplicate({ autoResubscribe: false })
}

/**
 * One change feed per instance, and the streams it feeds. The feed reads
 * MySQL's history (so every writer's changes are seen, SQL edits included),
 * woken at once by this instance's writes and, through Redis pub/sub, by the
 * other instances', and every CACHE_SYNC_INTERVAL_MS for the rest.
 */
export default fp(async function changeStream (fastify) {
  const { config } = fastify
  const changes = createChangeLog(fastify.database)
  const feed = createChangeFeed(changes, batch => fanOut.deliver(batch), {
    intervalMs: config.CACHE_SYNC_INTERVAL_MS,
    // A transaction of the API's takes its id and commits within its write budget; twice it leaves room for the commit's own wait.
    gapWaitMs: config.CHANGE_STREAM_GAP_WAIT_MS ?? 2 * config.DATABASE_WRITE_TIMEOUT_MS,
    log: fastify.log
  })
  const fanOut = createChangeFanOut(changes, () => feed.deliveredUpTo, {
    maxSubscribers: config.CHANGE_STREAM_MAX_SUBSCRIBERS,
    maxPerClient: config.CHANGE_STREAM_MAX_PER_CLIENT,
    replayMax: config.CHANGE_STREAM_REPLAY_MAX,
    maxUnsentBytes: config.CHANGE_STREAM_MAX_UNSENT_BYTES,
    keepAliveMs: config.CHANGE_STREAM_KEEPALIVE_MS,
    retryMs: config.CHANGE_STREAM_RETRY_MS,
    writeSlice: config.CHANGE_STREAM_WRITE_SLICE
  })
  // With MySQL unreachable the instance starts anyway: streams are refused (503) until a pass succeeds.
  await feed.pollNow().catch(() => {})
  const stopListening = fastify.changeNotices.listen(() => feed.wake())

  const subscriber = subscriberFor(fastify.redis)
  subscriber.on('error', () => {
    // The command connection reports the same outage; the timer keeps the streams going meanwhile.
  })
  listenForNotices(subscriber, changeChannel(config.CACHE_NAMESPACE), () => feed.wake())
  await subscriber.connect().catch(() => {})

  fastify.decorate('changeStream', fanOut)
  fastify.decorate('changeFeed', feed)
  fastify.metrics.gauge('nicaventas_change_stream_subscribers', 'Open change streams (GET /active/events and OFREP\'s) on this instance', () => fanOut.size)
  fastify.metrics.total('nicaventas_change_stream_dropped_total', 'Change streams disconnected for not reading what they were sent', () => fanOut.dropped)
  fastify.metrics.total('nicaventas_change_stream_ids_given_up_total', 'Change ids skipped by later ones and not committed within the gap wait: rolled back, or committed too late to be streamed', () => feed.givenUp)
  fastify.metrics.gauge('nicaventas_change_stream_delivered_up_to', 'The change id up to which this instance has streamed every change', () => feed.streamedUpTo)
  // Fastify's close waits for every connection, and a stream never ends by itself: end them first, so
  // the process exits within its grace and the clients reconnect to another instance.
  fastify.addHook('preClose', async () => { fanOut.endAll() })
  fastify.addHook('onClose', async () => {
    stopListening()
    await feed.close()
    subscriber.disconnect()
  })
}, { name: 'change-stream', dependencies: ['config', 'metrics', 'mysql', 'redis', 'availability'] })
