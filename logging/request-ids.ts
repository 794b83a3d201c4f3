import { randomBytes } from 'node:crypto'

// What a proxy may give as X-Request-Id: short, and nothing that could forge or break a log line.
const REQUEST_ID = /^[\w.:-]{1,64}$/

/**
 * Request ids: a proxy's X-Request-Id when it is a sane one, ties our log lines to its own;
 * otherwise this process's random prefix and a counter. The prefix (72 random bits) keeps ids
 * unique across processes and restarts, as the history's request ids must be; a counter costs
 * nothing per request, where a random UUID per request cost the local tier a percent of its CPU.
 */
export function createRequestIds (): (header: string | string[] | undefined) => string {
  const prefix = randomBytes(9).toString('base64url')
  let counter = 0
  return header => typeof header === 'string' && REQUEST_ID.test(header) ? header : `${prefix}-${(++counter).toString(36)}`
}
