import type { FastifyBaseLogger } from 'fastify'
import { createEpisodeLog } from '../../logging/episode-log.ts'

export interface RedisTimings {
  /** How long one of the cache's Redis commands took, failed or not. */
  redisCommand? (ms: number): void
}

export interface RedisHealth {
  /** A command that started at `startedMs` (performance.now(); NaN for one not timed) answered. */
  answered (startedMs: number): void
  /** A command failed or timed out: logged once per episode, not once per request. */
  failed (startedMs: number, error: unknown, action: string): void
}

/**
 * What the cache tells operators about Redis: command timings for
 * /metrics, and one warning when commands start failing (an outage, or a
 * Redis slower than REDIS_TIMEOUT_MS), one line when they answer again.
 * A slow Redis fails every request's command; a line for each would bury
 * the log.
 */
export function createRedisHealth (log: FastifyBaseLogger, timings: RedisTimings = {}): RedisHealth {
  const outage = createEpisodeLog()
  return {
    answered (startedMs) {
      if (!Number.isNaN(startedMs)) timings.redisCommand?.(performance.now() - startedMs)
      outage.recovered(() => log.info('Redis answers the cache again'))
    },
    failed (startedMs, error, action) {
      if (!Number.isNaN(startedMs)) timings.redisCommand?.(performance.now() - startedMs)
      outage.failed(() => log.warn({ err: error }, `Redis failed while ${action}: answering from MySQL until it answers again`))
    }
  }
}
