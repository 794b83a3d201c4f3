import { randomBytes } from 'node:crypto'

// What a proxy may give as X-Request-Id: short, and nothing that could forge or break a log line.
const REQUEST_ID = /^[\w.:-]{1,64}$/

/**
 * Request ids: a proxy's X-Request-Id when it is a sane one, ties our log lines to its own;
 * otherwise this process's random prefix and a counter, in a UUID's shape (8-4-4-4-12 hex
 * digits), as the ids were. The prefix (80 random bits) keeps ids unique across processes and
 * restarts, as the history's request ids must be; a counter costs nothing per request, where a
 * random UUID per request cost the local tier about a percent of its CPU.
 */
export function createRequestIds (): (header: string | string[] | undefined) => string {
  const hex = randomBytes(10).toString('hex')
  const prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`
  let counter = 0
  return header => typeof header === 'string' && REQUEST_ID.test(header) ? header : prefix + (++counter).toString(16).padStart(12, '0')
}
