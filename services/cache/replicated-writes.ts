import type { RedisClient } from './redis-client.ts'

export interface ReplicationSettings {
  /** The writes' own client: with replicas, WAIT blocks the connection it is sent on. */
  redis: RedisClient
  /** Replicas that must hold a write (REDIS_WAIT_REPLICAS); 0 waits for none. */
  replicas: number
  /** How long Redis may wait for them: below the command timeout, so WAIT answers before ioredis gives up. */
  waitMs: number
}

export interface ReplicatedWrites {
  /** The client to write with, so that `replicated` counts those writes. */
  readonly redis: RedisClient
  /** Deletes keys of one slot; resolves once enough replicas hold the delete. */
  del (keys: string[]): Promise<void>
  /** Resolves once enough replicas hold what this client wrote to `key`'s slot so far. */
  replicated (key: string): Promise<void>
}

export class NotReplicated extends Error {
  name = 'NotReplicated'
}

type Replies = Array<[Error | null, unknown]>
type Role = [string, number, unknown[]]

function throwFirstError (replies: Replies): void {
  for (const [error] of replies) if (error !== null) throw error
}

/**
 * The cache's writes that must survive a failover: a write's invalidation,
 * and the invalidation records the sync applies. Redis replicates
 * asynchronously, so a primary that dies right after a plain DEL hands the
 * replica that takes over the entry the write deleted, and an acknowledged
 * write would be read stale. With replicas, each write is followed by WAIT.
 *
 * Enough replicas means the number asked for, or every replica connected
 * when there are fewer (ROLE lists them): a primary whose replica died, or
 * one just promoted whose old primary has not come back, has nobody to lose
 * the write to, and waiting for more would hold every write for the whole wait.
 *
 * WAIT counts the writes of its own connection and blocks it while it
 * waits, so `settings.redis` is a client of the writes' own (the plugin
 * makes one): reads never queue behind it. Each step is a pipeline on one
 * key's slot, so a Cluster sends them to that slot's node; EXISTS only
 * gives a pipeline its slot. Throws when a command failed or too few
 * replicas hold the write: the caller keeps it pending and tries again.
 */
export function createReplicatedWrites (settings: ReplicationSettings): ReplicatedWrites {
  const { redis, replicas, waitMs } = settings

  async function waitFor (key: string, role: Role): Promise<void> {
    const needed = Math.min(replicas, role[2].length)
    if (needed === 0) return
    const replies = await redis.pipeline().exists(key).wait(needed, waitMs).exec() as Replies
    throwFirstError(replies)
    const [, [, acknowledged]] = replies as [unknown, [null, number]]
    if (acknowledged < needed) {
      throw new NotReplicated(`the write reached ${acknowledged} of the ${needed} connected replica(s) REDIS_WAIT_REPLICAS asks for within ${waitMs} ms`)
    }
  }

  if (replicas === 0) {
    return { redis, del: async keys => { await redis.del(...keys) }, replicated: async () => {} }
  }
  return {
    redis,
    async del (keys) {
      // A pipeline (unlike MULTI) always resolves to one [error, reply] per command.
      const replies = await redis.pipeline().del(...keys).role().exec() as Replies
      throwFirstError(replies)
      const [, [, role]] = replies as [unknown, [null, Role]]
      await waitFor(keys[0] as string, role)
    },
    async replicated (key) {
      const replies = await redis.pipeline().exists(key).role().exec() as Replies
      throwFirstError(replies)
      const [, [, role]] = replies as [unknown, [null, Role]]
      await waitFor(key, role)
    }
  }
}
