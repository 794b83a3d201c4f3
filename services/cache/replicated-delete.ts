import type { RedisClient } from './redis-client.ts'

export interface ReplicationSettings {
  /** Replicas that must hold the delete (REDIS_WAIT_REPLICAS); 0 sends a plain DEL. */
  replicas: number
  /** How long Redis may wait for them: below the command timeout, so WAIT answers before ioredis gives up. */
  waitMs: number
}

export class NotReplicated extends Error {
  name = 'NotReplicated'
}

/**
 * Deletes keys of one slot and, with replicas, waits until enough of them
 * hold the delete. Redis replicates asynchronously: a primary that dies
 * right after a plain DEL hands the replica that takes over the entry the
 * write deleted, and the acknowledged write would be read stale. DEL and
 * WAIT go in one pipeline, on one connection (a Cluster sends a pipeline to
 * its keys' slot), since WAIT counts the writes of its own connection.
 * Throws when the delete failed or too few replicas hold it: the caller
 * keeps the invalidation pending and tries again.
 */
export function createReplicatedDelete (redis: RedisClient, settings: ReplicationSettings): (keys: string[]) => Promise<void> {
  if (settings.replicas === 0) return async keys => { await redis.del(...keys) }
  return async keys => {
    // A pipeline (unlike MULTI) always resolves to one [error, reply] per command: here DEL's and WAIT's.
    const replies = await redis.pipeline().del(...keys).wait(settings.replicas, settings.waitMs).exec() as Array<[Error | null, unknown]>
    const [, [, acknowledged]] = replies as [unknown, [null, number]]
    for (const [error] of replies) if (error !== null) throw error
    if (acknowledged < settings.replicas) {
      throw new NotReplicated(`the delete reached ${acknowledged} of the ${settings.replicas} replica(s) REDIS_WAIT_REPLICAS asks for within ${settings.waitMs} ms`)
    }
  }
}
