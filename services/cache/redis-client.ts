import type { Cluster, Redis } from 'ioredis'

/**
 * The cache's Redis: one server (or the primary Sentinels point at), or a
 * Redis Cluster. The cache uses only what both offer with the same meaning:
 * single-key commands, scripts whose keys share one hash tag, pipelines
 * within one slot, and the 'ready' event.
 */
export type RedisClient = Redis | Cluster
