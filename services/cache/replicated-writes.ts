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
  /** Resolves once enough replicas hold what this client's connection to `key`'s node wrote so far. */
  replicated (key: string): Promise<void>
}

class NotReplicated extends Error {
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
 * when there are fewer (ROLE lists them): for a primary whose replica died,
 * or one just promoted whose old primary has not come back, waiting for more
 * would hold every write for the whole wait. The price: a replica whose
 * link is down at that moment, and is promoted before it resyncs, lacks the
 * write (README, "Limits of scale-out").
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

  interface Written {
    /** The connection the write went on (CLIENT ID). */
    id: number
    /** Whether a primary answered; a replica's ROLE (a failover under way) lists no replicas. */
    primary: boolean
    connected: number
  }

  /** The replies of a pipeline that ends with CLIENT ID and ROLE. */
  function writtenBy (replies: Replies): Written {
    throwFirstError(replies)
    const [[, id], [, role]] = replies.slice(-2) as [[null, number], [null, Role]]
    return { id, primary: role[0] === 'master', connected: role[2].length }
  }

  async function waitFor (key: string, written: Written): Promise<void> {
    const needed = Math.min(replicas, written.connected)
    if (written.primary && needed === 0) return
    const replies = await redis.pipeline().exists(key).client('ID').wait(needed, waitMs).exec() as Replies
    throwFirstError(replies)
    const [, [, id], [, acknowledged]] = replies as [unknown, [null, number], [null, number]]
    // WAIT counts its own connection's writes: on another one (a reconnection, a moved slot) it proves nothing.
    if (!(written.primary && id === written.id && acknowledged >= needed)) {
      throw new NotReplicated(`the write reached ${acknowledged} of the ${needed} connected replica(s) REDIS_WAIT_REPLICAS asks for ` +
        `within ${waitMs} ms, on connection ${id} of a primary (written on ${written.id})`)
    }
  }

  if (replicas === 0) {
    return { redis, del: async keys => { await redis.del(...keys) }, replicated: async () => {} }
  }
  return {
    redis,
    async del (keys) {
      // A pipeline (unlike MULTI) always resolves to one [error, reply] per command.
      const replies = await redis.pipeline().del(...keys).client('ID').role().exec() as Replies
      await waitFor(keys[0] as string, writtenBy(replies))
    },
    async replicated (key) {
      const replies = await redis.pipeline().exists(key).client('ID').role().exec() as Replies
      await waitFor(key, writtenBy(replies))
    }
  }
}
