import type { MySQLPromisePool } from '@fastify/mysql'
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { LocationData } from '../schemas/location.ts'
import type { LocationId } from './location.ts'

export interface AvailabilityStore {
  find (id: LocationId): Promise<LocationData | undefined>
  /** Returns the updated location as stored, or undefined when there is none. */
  setActive (id: LocationId, active: boolean): Promise<LocationData | undefined>
  /** Returns the inserted location, or undefined when it already exists. */
  insert (id: LocationId, city: string, active: boolean): Promise<LocationData | undefined>
  /** Returns whether a location was removed. */
  remove (id: LocationId): Promise<boolean>
  /** Resolves when MySQL answers within the timeout (readiness). */
  ping (): Promise<void>
  /** Statements sent to MySQL since start-up, readiness pings included; the stampede tests and the bench count them. */
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
const DEADLINE_EXPIRED = 'DEADLINE_EXPIRED'

// Errors that mean "MySQL cannot be reached right now", as opposed to a bug in a query.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'POOL_CLOSED',
  'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'ER_LOCK_WAIT_TIMEOUT', DEADLINE_EXPIRED
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

  /**
   * Runs one statement under one deadline that covers waiting for a pooled
   * connection, preparing the statement and executing it: mysql2 puts no
   * time limit on the first two, so a MySQL that stops answering would
   * otherwise hold a request (and every reader sharing its flight) for as
   * long as TCP takes to notice.
   */
  async function run<T extends RowDataPacket[] | ResultSetHeader> (sql: string, values: unknown[]): Promise<T> {
    queryCount++
    let expired = false
    let connection: PoolConnection | undefined
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        expired = true
        // A connection stuck mid-command must never go back to the pool.
        connection?.destroy()
        reject(Object.assign(new Error(`MySQL did not answer within ${queryTimeoutMs} ms`), { code: DEADLINE_EXPIRED }))
      }, queryTimeoutMs)
    })

    async function execute (): Promise<T> {
      const acquired = await pool.getConnection()
      if (expired) {
        // Too late: the caller has had its 503, and a write must not run after that.
        acquired.destroy()
        throw new Error('connection arrived after the deadline')
      }
      connection = acquired
      try {
        const [result] = await acquired.execute<T>({ sql, values })
        acquired.release()
        return result
      } catch (error) {
        // Only an error the server sent leaves the connection in a known state.
        if ((error as { errno?: number }).errno === ER_DUP_ENTRY) acquired.release()
        else acquired.destroy()
        throw error
      }
    }

    return await Promise.race([execute(), deadline])
      .catch(unavailable)
      .finally(() => clearTimeout(timer))
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

    async ping () {
      await run<RowDataPacket[]>('SELECT 1', [])
    },

    async remove ({ country, cityKey }) {
      const result = await run<ResultSetHeader>(DELETE_LOCATION, [country, cityKey])
      return result.affectedRows > 0
    }
  }
}
