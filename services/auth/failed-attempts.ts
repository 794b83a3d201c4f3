import { LRUCache } from 'lru-cache'

export interface FailedAttemptsOptions {
  /** Failures a client may have within one window before it is locked out. */
  limit: number
  /** How long a window lasts from a client's first failure, and how long a locked-out client must wait. */
  windowMs: number
  /** The most clients remembered; beyond it the least recently seen are forgotten, so memory stays bounded. */
  maxClients: number
}

export interface FailedAttempts {
  /**
   * Seconds a locked-out client must still wait, after starting its wait again (this attempt
   * counts as one more); undefined when it may try.
   */
  lockedOutFor (client: string): number | undefined
  /** Counts one failure against the client. */
  recordFailure (client: string): void
  readonly size: number
}

/**
 * Failed attempts per client, in this process's memory. Every method is synchronous: a caller
 * that checks, verifies and records without awaiting in between cannot be raced by requests
 * that arrive together, as pipelined ones on one connection do.
 */
export function createFailedAttempts ({ limit, windowMs, maxClients }: FailedAttemptsOptions): FailedAttempts {
  // An entry expires windowMs after it was last set: after a window's first failure, or after a locked-out attempt.
  const failures = new LRUCache<string, { count: number }>({ max: maxClients, ttl: windowMs })
  const waitSeconds = Math.ceil(windowMs / 1000)
  return {
    lockedOutFor (client) {
      const entry = failures.get(client)
      if (entry === undefined || entry.count < limit) return undefined
      entry.count++
      failures.set(client, entry)
      return waitSeconds
    },
    recordFailure (client) {
      const entry = failures.get(client)
      if (entry === undefined) failures.set(client, { count: 1 })
      else entry.count++
    },
    get size () { return failures.size }
  }
}
