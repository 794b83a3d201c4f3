import { createHash, timingSafeEqual } from 'node:crypto'
import { Value } from '@sinclair/typebox/value'
import { OperatorName, type OperatorToken } from '../schemas/config.ts'
import { isAssignedCountryCode } from '../domain/countries.ts'

/** The name of a token listed without one: every token before names existed, and the generated development token. */
export const DEFAULT_OPERATOR = 'operator'

/**
 * The SHA-256 of the Flask service's token: printed in its tutorial, so anyone may send it; accepted
 * outside production only. Kept as a digest, so no token is written in the source.
 */
const PUBLISHED_FLASK_TOKEN_SHA256 = '05270076e5f3df2331ee14f5e2475ef92f7a86467d3d82f6395224454258e883'

const isPublishedFlaskToken = (token: string): boolean =>
  createHash('sha256').update(token).digest('hex') === PUBLISHED_FLASK_TOKEN_SHA256

/** The shortest token production accepts: `openssl rand -base64 32` makes 44 characters. */
export const PRODUCTION_TOKEN_MIN_LENGTH = 32

export type OperatorTokensReading = { tokens: OperatorToken[] } | { problem: string }

/** What a token may do: the countries it may change (undefined: every one), and whether it may write at all. */
export interface OperatorScope {
  countries: string[] | undefined
  readOnly: boolean
}

/** An operator, as a token names them. */
export interface Operator {
  name: string
  scope: OperatorScope
}

// `name[scope]`: the brackets are what a name may not hold (OperatorName), so no older entry reads as scoped.
const SCOPED_NAME = /^(.*)\[(.*)\]$/
const READ_ONLY = 'read'
const SCOPE_SYNTAX = 'write country codes joined by "+" (name[NI+CR]:token), or "read" alone (name[read]:token)'

type ScopeReading = Pick<OperatorToken, 'countries' | 'readOnly'> | { problem: string }

/** The part between the brackets: never quoted back, as nothing of an entry is. */
function readScope (scope: string): ScopeReading {
  const items = scope.split('+').map(item => item.trim())
  if (items.length === 1 && items[0]?.toLowerCase() === READ_ONLY) return { readOnly: true }
  const countries: string[] = []
  for (const [index, item] of items.entries()) {
    if (item.toLowerCase() === READ_ONLY) return { problem: `"read" cannot be joined with countries in its scope (a read-only token changes none); ${SCOPE_SYNTAX}` }
    if (!isAssignedCountryCode(item)) return { problem: `item ${index + 1} of its scope is not an assigned ISO 3166-1 alpha-2 country code; ${SCOPE_SYNTAX}` }
    const country = item.toUpperCase()
    if (!countries.includes(country)) countries.push(country)
  }
  return { countries }
}

/**
 * Reads API_TOKENS: comma-separated `name:token` entries or bare tokens, empty entries skipped;
 * a name may carry a scope in brackets (`name[NI+CR]:token`, `name[read]:token`).
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
    const scoped = colon === -1 ? null : SCOPED_NAME.exec(entry.slice(0, colon).trim())
    const name = colon === -1 ? DEFAULT_OPERATOR : (scoped?.[1] ?? entry.slice(0, colon)).trim()
    const token = colon === -1 ? entry : entry.slice(colon + 1).trim()
    const scope = scoped === null ? {} : readScope(scoped[2] as string)

    if (name === '') {
      return { problem: `API_TOKENS entry ${position} has an empty name before its ":"; write name:token, or the token alone for "${DEFAULT_OPERATOR}"` }
    }
    if (/[[\]]/.test(name)) {
      return { problem: `API_TOKENS entry ${position}: a scope is written name[NI+CR]:token, right after the name, its countries joined by "+" (a "," ends the entry)` }
    }
    if (!Value.Check(OperatorName, name)) {
      return { problem: `API_TOKENS entry ${position}: the name before ":" must be ${OperatorName.description} (a token that contains ":" needs a name before it)` }
    }
    if ('problem' in scope) return { problem: `API_TOKENS entry ${position}: ${scope.problem}` }
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
    tokens.push({ name, token, ...scope })
  }
  return { tokens }
}

const MAKE_ONE = 'make one with `openssl rand -base64 32`'

function guessableTokenProblem (token: string): string | undefined {
  if (isPublishedFlaskToken(token)) {
    return `is the Flask service's published token, which anyone can send: with NODE_ENV=production use a token of your own (${MAKE_ONE})`
  }
  if (token.length < PRODUCTION_TOKEN_MIN_LENGTH) {
    return `is shorter than ${PRODUCTION_TOKEN_MIN_LENGTH} characters: with NODE_ENV=production each token needs at least ${PRODUCTION_TOKEN_MIN_LENGTH} (${MAKE_ONE})`
  }
  return undefined
}

/**
 * Returns a function giving the operator a bearer token belongs to, with its scope, or undefined.
 * Each token is compared in constant time, as @fastify/bearer-auth compares its keys, and every
 * token is compared, so the time taken does not tell which one matched.
 */
export function createOperatorLookup (tokens: OperatorToken[]): (bearer: string) => Operator | undefined {
  const known = tokens.map(({ name, token, countries, readOnly }) => ({
    operator: { name, scope: { countries, readOnly: readOnly === true } },
    token: Buffer.from(token)
  }))
  return bearer => {
    const candidate = Buffer.from(bearer)
    let operator: Operator | undefined
    for (const entry of known) {
      if (sameBytes(entry.token, candidate)) operator = entry.operator
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
