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
  /** Runs one Redis call, timed and reported as answered or failed (`action` names it in the warning); rethrows its error. */
  timed<T> (action: string, command: () => Promise<T>): Promise<T>
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
  const time = (startedMs: number) => {
    if (!Number.isNaN(startedMs)) timings.redisCommand?.(performance.now() - startedMs)
  }
  const health: RedisHealth = {
    answered (startedMs) {
      time(startedMs)
      outage.recovered(() => log.info('Redis answers the cache again'))
    },
    failed (startedMs, error, action) {
      time(startedMs)
      outage.failed(() => log.warn({ err: error }, `Redis failed while ${action}: answering from MySQL until it answers again`))
    },
    async timed (action, command) {
      const started = performance.now()
      try {
        const result = await command()
        health.answered(started)
        return result
      } catch (error) {
        health.failed(started, error, action)
        throw error
      }
    }
  }
  return health
}
