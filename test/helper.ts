import { basename } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import type { Test } from 'tap'
import { buildApp, type AppOptions } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { deleteCacheNamespace } from '../services/cache/keys.ts'
import { assertResponsesMatchOpenApi } from './support/openapi-contract.ts'

// Long enough for production (config/operator-tokens.ts), so a test may build the app with NODE_ENV=production.
export const TOKEN = 'test-token-primary-0123456789abcdef'
export const SECOND_TOKEN = 'test-token-rotated-0123456789abcdef'
export const AUTH = { authorization: `Bearer ${TOKEN}` }

let counter = 0

/**
 * Environment for one isolated instance: its own database and its own Redis
 * key namespace, so test files (and tests within them) run in parallel.
 * Servers come from the same variables as production, defaulting to local ones.
 */
export function isolatedEnv (overrides: Record<string, string> = {}): Record<string, string> {
  const file = basename(process.argv[1] ?? 'test', '.test.ts').replace(/[^A-Za-z0-9]/g, '_').slice(0, 24)
  const name = `nv_test_${file}_${process.pid}_${++counter}`
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_HOST: process.env.DATABASE_HOST ?? '127.0.0.1',
    DATABASE_PORT: process.env.DATABASE_PORT ?? '3306',
    DATABASE_USER: process.env.DATABASE_USER ?? 'root',
    DATABASE_PASSWORD: process.env.DATABASE_PASSWORD ?? '',
    REDIS_LOCATION: process.env.REDIS_LOCATION ?? '127.0.0.1',
    REDIS_PORT: process.env.REDIS_PORT ?? '6379',
    DATABASE_NAME: name,
    CACHE_NAMESPACE: name,
    API_TOKENS: `${TOKEN},${SECOND_TOKEN}`,
    DEMO_DATA: 'true',
    ...overrides
  }
}

/** Drops the database and the Redis keys an isolated environment used. */
export async function cleanUp (env: Record<string, string>): Promise<void> {
  const { DATABASE_NAME, CACHE_NAMESPACE } = env as Record<'DATABASE_NAME' | 'CACHE_NAMESPACE', string>
  const connection = await mysql.createConnection({
    host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD
  })
  await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(DATABASE_NAME)}`)
  await connection.end()

  // Some tests point the app at a Redis they have stopped: then there is nothing left to clean.
  const redis = new Redis({ host: env.REDIS_LOCATION, port: Number(env.REDIS_PORT), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  redis.on('error', () => {})
  try {
    await redis.connect()
  } catch {
    return
  }
  await deleteCacheNamespace(redis, CACHE_NAMESPACE)
  await redis.quit()
}

/**
 * A ready app built exactly as server.ts builds it, with isolated data,
 * whose every response is checked against its OpenAPI document; closed when the test ends.
 */
export async function build (
  t: Test,
  overrides: Record<string, string> = {},
  options: Omit<AppOptions, 'config'> = {}
): Promise<FastifyInstance> {
  const env = isolatedEnv(overrides)
  const config = readConfig(env)
  const app = await buildApp({ ...options, config })
  t.teardown(async () => {
    await app.close()
    await cleanUp(env)
  })
  assertResponsesMatchOpenApi(t, app)
  await app.ready()
  return app
}
