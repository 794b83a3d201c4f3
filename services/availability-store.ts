import type { MySQLPromisePool } from '@fastify/mysql'
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { LocationData } from '../schemas/location.ts'
import type { LocationId } from './location.ts'

export interface AvailabilityStore {
  find (id: LocationId): Promise<LocationData | undefined>
  /** Returns the updated location, or undefined when there is none. */
  setActive (id: LocationId, active: boolean): Promise<LocationData | undefined>
  /** Returns the inserted location, or undefined when it already exists. */
  insert (id: LocationId, city: string, active: boolean): Promise<LocationData | undefined>
  /** Returns whether a location was removed. */
  remove (id: LocationId): Promise<boolean>
  /** Queries sent to MySQL since start-up; the stampede tests and the bench count them. */
  readonly queryCount: number
}

interface LocationRow extends RowDataPacket {
  country: string
  city: string
  active: number
}

const SELECT_LOCATION = 'SELECT country, city, active FROM locations WHERE country = ? AND city_key = ?'
const UPDATE_ACTIVE = 'UPDATE locations SET active = ? WHERE country = ? AND city_key = ?'
const INSERT_LOCATION = 'INSERT INTO locations (country, city, city_key, active) VALUES (?, ?, ?, ?)'
const DELETE_LOCATION = 'DELETE FROM locations WHERE country = ? AND city_key = ?'

const ER_DUP_ENTRY = 1062

// Errors that mean "MySQL cannot be reached right now", as opposed to a bug in a query.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'POOL_CLOSED',
  'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'ER_LOCK_WAIT_TIMEOUT'
])

export class DatabaseUnavailableError extends Error {
  statusCode = 503
}

export function isDatabaseUnavailable (error: unknown): boolean {
  return error instanceof DatabaseUnavailableError
}

function unavailable (error: unknown): never {
  const code = (error as { code?: string }).code
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
    throw new DatabaseUnavailableError('Database unavailable; try again in a few seconds', { cause: error })
  }
  throw error
}

function toLocation (row: LocationRow): LocationData {
  return { country: row.country, city: row.city, active: row.active === 1 }
}

export function createAvailabilityStore (pool: MySQLPromisePool, queryTimeoutMs: number): AvailabilityStore {
  let queryCount = 0

  async function run<T extends RowDataPacket[] | ResultSetHeader> (sql: string, values: unknown[]): Promise<T> {
    queryCount++
    let connection: PoolConnection
    try {
      connection = await pool.getConnection()
    } catch (error) {
      return unavailable(error)
    }
    try {
      const [result] = await connection.execute<T>({ sql, values, timeout: queryTimeoutMs })
      connection.release()
      return result
    } catch (error) {
      // mysql2 would give a connection that timed out back to the pool still waiting on its
      // command, and later queries on it would wait without any timeout: never reuse one that failed.
      if ((error as { errno?: number }).errno === ER_DUP_ENTRY) connection.release()
      else connection.destroy()
      return unavailable(error)
    }
  }

  async function find ({ country, cityKey }: LocationId): Promise<LocationData | undefined> {
    const [row] = await run<LocationRow[]>(SELECT_LOCATION, [country, cityKey])
    return row === undefined ? undefined : toLocation(row)
  }

  return {
    get queryCount () { return queryCount },

    find,

    async setActive (id, active) {
      const result = await run<ResultSetHeader>(UPDATE_ACTIVE, [active, id.country, id.cityKey])
      if (result.affectedRows === 0) return undefined
      return await find(id)
    },

    async insert (id, city, active) {
      try {
        await run<ResultSetHeader>(INSERT_LOCATION, [id.country, city, id.cityKey, active])
      } catch (error) {
        if ((error as { errno?: number }).errno === ER_DUP_ENTRY) return undefined
        throw error
      }
      return { country: id.country, city, active }
    },

    async remove ({ country, cityKey }) {
      const result = await run<ResultSetHeader>(DELETE_LOCATION, [country, cityKey])
      return result.affectedRows > 0
    }
  }
}
