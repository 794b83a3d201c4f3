/** MySQL could not serve the request: an outage, a deadline, or a queue too long to wait in. */
export class DatabaseUnavailableError extends Error {
  statusCode = 503
  /** What the answer's Retry-After header says. */
  retryAfterSeconds: number

  constructor (message: string, options: { cause?: unknown, retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause })
    this.retryAfterSeconds = options.retryAfterSeconds ?? 2
  }
}

export function isDatabaseUnavailable (error: unknown): error is DatabaseUnavailableError {
  return error instanceof DatabaseUnavailableError
}

// Errors that mean "MySQL cannot be reached right now", as opposed to a bug in a query.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'POOL_CLOSED',
  'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED'
])

/** A driver error as a DatabaseUnavailableError when it means MySQL is out of reach or busy; any other error as it is. */
export function asUnavailable (error: unknown): unknown {
  const code = (error as { code?: string }).code
  if (code === 'ER_LOCK_WAIT_TIMEOUT') {
    // MySQL rolled the statement back: the answer can say for certain that nothing changed.
    return new DatabaseUnavailableError('MySQL could not lock the location in time (another change holds it); this request was not applied, try again', { cause: error })
  }
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
    return new DatabaseUnavailableError('Database unavailable; try again in a few seconds', { cause: error })
  }
  return error
}
