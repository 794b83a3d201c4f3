import { DatabaseUnavailableError } from './errors.ts'

// What MySQL answers when it rolled a statement back because of other writers: a deadlock, whose
// victim it chose, and a lock wait that ran out (errno 1213, 1205; SQLSTATE 40001 for the first).
const ER_LOCK_DEADLOCK = 1213
const ER_LOCK_WAIT_TIMEOUT = 1205
const SERIALIZATION_FAILURE = '40001'

export interface RolledBackRetryOptions {
  /** Attempts in all, the first included. */
  attempts: number
  /** The first retry waits up to this long, each next one twice as long (full jitter). */
  baseDelayMs: number
  /** The write's whole budget: a retry is made only if another attempt as long as the last still fits. */
  budgetMs: number
}

export interface RolledBackRetryStats {
  /** Writes rolled back by MySQL and sent again. */
  retried: number
  /** Writes still rolled back after their last attempt, answered 503. */
  gaveUp: number
}

export interface RolledBackRetry {
  <T> (write: () => Promise<T>): Promise<T>
  readonly stats: RolledBackRetryStats
}

/** The driver's error, also when the statement runner has already wrapped it (a lock wait's 503). */
function rolledBackByMySQL (error: unknown): boolean {
  for (const candidate of [error, (error as { cause?: unknown }).cause]) {
    const { errno, sqlState } = (candidate ?? {}) as { errno?: unknown, sqlState?: unknown }
    if (errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT || sqlState === SERIALIZATION_FAILURE) return true
  }
  return false
}

const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Runs a write again when MySQL rolled it back for other writers' sake: the
 * write's procedure is one transaction (db/migrations/021-023), so a rolled
 * back attempt left nothing behind, and sending it again with the same
 * writer records the same request in the history. Writers that collided
 * retry after random pauses, so they do not collide again in step. When the
 * attempts or the budget run out, the answer is 503 with Retry-After: the
 * write was not applied, and another try is likely to go through.
 */
export function createRolledBackRetry (options: RolledBackRetryOptions): RolledBackRetry {
  const stats: RolledBackRetryStats = { retried: 0, gaveUp: 0 }

  async function attempting<T> (write: () => Promise<T>, attempt: number, startedAt: number): Promise<T> {
    const attemptStartedAt = Date.now()
    try {
      return await write()
    } catch (error) {
      if (!rolledBackByMySQL(error)) throw error
      const now = Date.now()
      const delayMs = Math.random() * options.baseDelayMs * 2 ** (attempt - 1)
      if (attempt >= options.attempts || now + delayMs + (now - attemptStartedAt) - startedAt > options.budgetMs) {
        stats.gaveUp++
        throw error instanceof DatabaseUnavailableError
          ? error
          : new DatabaseUnavailableError(
            `MySQL rolled this write back ${attempt} times to let concurrent changes of the same data through; it was not applied, try again`,
            { cause: error, retryAfterSeconds: 1 }
          )
      }
      stats.retried++
      await pause(delayMs)
      return await attempting(write, attempt + 1, startedAt)
    }
  }

  const retrying = <T> (write: () => Promise<T>) => attempting(write, 1, Date.now())

  return Object.assign(retrying, { stats })
}
