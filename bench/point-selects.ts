import mysql from 'mysql2/promise'
import { locationId } from '../domain/location.ts'
import { SELECT_ONE_LOCATION } from '../services/availability/location-store.ts'
import { infrastructure } from './infrastructure.ts'
import type { BenchLocation } from './locations.ts'

export interface PointSelectRate {
  queriesPerSecond: number
  queries: number
  poolSize: number
}

// Callers per pooled connection: enough to keep every connection busy, as the miss scenario's 64 HTTP connections do.
const CALLERS_PER_CONNECTION = 4

/**
 * MariaDB's own rate for the statement a miss runs while a pooled connection
 * is free (under a queue, several misses share one): one pool of the
 * service's size, kept busy for `durationSeconds` by this process, over
 * the same locations in the same order. The ratio of the two says how much
 * of a miss is MySQL's.
 */
export async function measurePointSelects (databaseName: string, locations: BenchLocation[], poolSize: number, durationSeconds: number): Promise<PointSelectRate> {
  const pool = mysql.createPool({
    host: infrastructure.DATABASE_HOST,
    port: Number(infrastructure.DATABASE_PORT),
    user: infrastructure.DATABASE_USER,
    password: infrastructure.DATABASE_PASSWORD,
    database: databaseName,
    connectionLimit: poolSize
  })
  try {
    // Open every connection first, as the service does at start.
    await Promise.all(Array.from({ length: poolSize }, () => pool.query('SELECT 1')))
    const ids = locations.map(({ country, city }) => locationId(country, city))
    let queries = 0
    const startedAt = performance.now()
    const endAt = startedAt + durationSeconds * 1000
    await Promise.all(Array.from({ length: poolSize * CALLERS_PER_CONNECTION }, async (_, caller) => {
      for (let next = caller; performance.now() < endAt; next += poolSize * CALLERS_PER_CONNECTION) {
        const id = ids[next % ids.length] as { country: string, cityKey: string }
        // The service's own statement for one location, by the same text protocol.
        await pool.query(SELECT_ONE_LOCATION, [id.country, id.cityKey])
        queries++
      }
    }))
    return { queriesPerSecond: queries / ((performance.now() - startedAt) / 1000), queries, poolSize }
  } finally {
    await pool.end()
  }
}
