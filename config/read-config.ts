import { randomBytes } from 'node:crypto'
import envSchema from 'env-schema'
import { EnvironmentSchema, type Environment, type OperatorToken, type RedisTopology } from '../schemas/config.ts'
import { DEFAULT_OPERATOR, readOperatorTokens } from './operator-tokens.ts'
import { readRedisTopology } from './redis-topology.ts'

export interface Config extends Omit<Environment, 'API_TOKENS' | 'DEMO_DATA' | 'REDIS_WAIT_REPLICAS'> {
  /** The write routes' bearer tokens, each with the name of the operator it belongs to. */
  API_TOKENS: OperatorToken[]
  DEMO_DATA: boolean
  /** True when no API_TOKENS were given and a one-off development token was made. */
  API_TOKEN_GENERATED: boolean
  /** The single server, the Cluster or the Sentinels, from the REDIS_* variables. */
  REDIS_TOPOLOGY: RedisTopology
  /** Replicas that must hold a write's invalidation: REDIS_WAIT_REPLICAS, or 1 with replicas and 0 without. */
  REDIS_WAIT_REPLICAS: number
}

export class ConfigurationError extends Error {
  name = 'ConfigurationError'
}

/**
 * Validates an environment (process.env in production, a plain object in
 * tests) and returns the service's configuration. Throws a
 * ConfigurationError naming the variable at fault.
 */
export function readConfig (env: Record<string, string | undefined>): Config {
  let parsed: Environment
  try {
    // A copy: env-schema writes into the schema it is given.
    parsed = envSchema<Environment>({ schema: structuredClone(EnvironmentSchema), data: env, env: false })
  } catch (error) {
    const message = (error as Error).message.replace(/env\//g, '').replace(/^env /, '')
    throw new ConfigurationError(`Invalid configuration: ${message}`)
  }

  const production = parsed.NODE_ENV === 'production'
  const reading = readOperatorTokens(parsed.API_TOKENS ?? '', production ? 'refused' : 'accepted')
  if ('problem' in reading) throw new ConfigurationError(reading.problem)
  const { tokens } = reading
  const redis = readRedisTopology(parsed)
  if ('problem' in redis) throw new ConfigurationError(redis.problem)
  const generated = tokens.length === 0
  if (generated && production) {
    throw new ConfigurationError('API_TOKENS is not set: with NODE_ENV=production the service needs at least one bearer token (comma-separated for rotation)')
  }

  return {
    ...parsed,
    API_TOKENS: generated ? [{ name: DEFAULT_OPERATOR, token: randomBytes(24).toString('base64url') }] : tokens,
    API_TOKEN_GENERATED: generated,
    DEMO_DATA: parsed.DEMO_DATA ?? !production,
    REDIS_TOPOLOGY: redis.topology,
    REDIS_WAIT_REPLICAS: redis.waitReplicas
  }
}
