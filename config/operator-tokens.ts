import { timingSafeEqual } from 'node:crypto'
import { Value } from '@sinclair/typebox/value'
import { OperatorName, type OperatorToken } from '../schemas/config.ts'

/** The name of a token listed without one: every token before names existed, and the generated development token. */
export const DEFAULT_OPERATOR = 'operator'

/** The Flask service's token: printed in its tutorial, so anyone may send it. Accepted outside production only. */
export const PUBLISHED_FLASK_TOKEN = '2234hj234h2kkjjh42kjj2b20asd6918'

/** The shortest token production accepts: `openssl rand -base64 32` makes 44 characters. */
export const PRODUCTION_TOKEN_MIN_LENGTH = 32

export type OperatorTokensReading = { tokens: OperatorToken[] } | { problem: string }

/**
 * Reads API_TOKENS: comma-separated `name:token` entries or bare tokens, empty entries skipped.
 * A problem names the entry by its place between the commas, counted from 1, and never quotes
 * the entry: any part of it may be a token. For production (`guessable: 'refused'`) a token must
 * be long enough that guessing is hopeless, and not one that is published.
 */
export function readOperatorTokens (list: string, guessable: 'accepted' | 'refused' = 'accepted'): OperatorTokensReading {
  const tokens: OperatorToken[] = []
  const positionOfToken = new Map<string, number>()
  for (const [index, field] of list.split(',').entries()) {
    const entry = field.trim()
    if (entry === '') continue
    const position = index + 1
    const colon = entry.indexOf(':')
    const name = colon === -1 ? DEFAULT_OPERATOR : entry.slice(0, colon).trim()
    const token = colon === -1 ? entry : entry.slice(colon + 1).trim()

    if (name === '') {
      return { problem: `API_TOKENS entry ${position} has an empty name before its ":"; write name:token, or the token alone for "${DEFAULT_OPERATOR}"` }
    }
    if (!Value.Check(OperatorName, name)) {
      return { problem: `API_TOKENS entry ${position}: the name before ":" must be ${OperatorName.description} (a token that contains ":" needs a name before it)` }
    }
    if (token === '') {
      return { problem: `API_TOKENS entry ${position} has no token after its name` }
    }
    if (guessable === 'refused') {
      const problem = guessableTokenProblem(token)
      if (problem !== undefined) return { problem: `API_TOKENS entry ${position} ${problem}` }
    }
    const earlier = positionOfToken.get(token)
    if (earlier !== undefined) {
      return { problem: `API_TOKENS entry ${position} repeats the token of entry ${earlier}; list each token once` }
    }
    positionOfToken.set(token, position)
    tokens.push({ name, token })
  }
  return { tokens }
}

const MAKE_ONE = 'make one with `openssl rand -base64 32`'

function guessableTokenProblem (token: string): string | undefined {
  if (token === PUBLISHED_FLASK_TOKEN) {
    return `is the Flask service's published token, which anyone can send: with NODE_ENV=production use a token of your own (${MAKE_ONE})`
  }
  if (token.length < PRODUCTION_TOKEN_MIN_LENGTH) {
    return `is shorter than ${PRODUCTION_TOKEN_MIN_LENGTH} characters: with NODE_ENV=production each token needs at least ${PRODUCTION_TOKEN_MIN_LENGTH} (${MAKE_ONE})`
  }
  return undefined
}

/**
 * Returns a function giving the name of the operator a bearer token belongs to, or undefined.
 * Each token is compared in constant time, as @fastify/bearer-auth compares its keys, and every
 * token is compared, so the time taken does not tell which one matched.
 */
export function createOperatorLookup (tokens: OperatorToken[]): (bearer: string) => string | undefined {
  const known = tokens.map(({ name, token }) => ({ name, token: Buffer.from(token) }))
  return bearer => {
    const candidate = Buffer.from(bearer)
    let operator: string | undefined
    for (const { name, token } of known) {
      if (sameBytes(token, candidate)) operator = name
    }
    return operator
  }
}

function sameBytes (expected: Buffer, candidate: Buffer): boolean {
  if (expected.length !== candidate.length) {
    // The same work as a comparison, so a wrong length is not answered sooner.
    timingSafeEqual(expected, expected)
    return false
  }
  return timingSafeEqual(expected, candidate)
}
