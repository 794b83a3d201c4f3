import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import { deleteCacheNamespace } from '../services/cache/keys.ts'

/**
 * Where MariaDB and Redis are: the variables the service itself reads,
 * defaulting to the local servers, as test/helper.ts does.
 */
export const infrastructure = {
  DATABASE_HOST: process.env.DATABASE_HOST ?? '127.0.0.1',
  DATABASE_PORT: process.env.DATABASE_PORT ?? '3306',
  DATABASE_USER: process.env.DATABASE_USER ?? 'root',
  DATABASE_PASSWORD: process.env.DATABASE_PASSWORD ?? '',
  REDIS_LOCATION: process.env.REDIS_LOCATION ?? '127.0.0.1',
  REDIS_PORT: process.env.REDIS_PORT ?? '6379'
}

/** A connection without a default database: the bench's database may not exist yet. */
export async function connectToMysql (): Promise<mysql.Connection> {
  return await mysql.createConnection({
    host: infrastructure.DATABASE_HOST,
    port: Number(infrastructure.DATABASE_PORT),
    user: infrastructure.DATABASE_USER,
    password: infrastructure.DATABASE_PASSWORD
  })
}

export function connectToRedis (): Redis {
  return new Redis({
    host: infrastructure.REDIS_LOCATION,
    port: Number(infrastructure.REDIS_PORT),
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1
  })
}

/** Drops the database and every Redis key under the namespace; run before a bench (leftovers of a killed run) and after. */
export async function dropBenchData (databaseName: string, namespace: string): Promise<void> {
  const connection = await connectToMysql()
  try {
    await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(databaseName)}`)
  } finally {
    await connection.end()
  }

  const redis = connectToRedis()
  try {
    await deleteCacheNamespace(redis, namespace)
  } finally {
    await redis.quit()
  }
}
