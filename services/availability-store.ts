import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { LocationData } from '../schemas/location.ts'
import { createReadBatcher } from './database/read-batcher.ts'
import type { StatementRunner } from './database/statement-runner.ts'
import { locationKey, type LocationId } from './location.ts'

export interface AvailabilityStore {
  find (id: LocationId): Promise<LocationData | undefined>
  /** Returns the updated location as stored, or undefined when there is none. */
  setActive (id: LocationId, active: boolean): Promise<LocationData | undefined>
  /** Returns the inserted location, or undefined when it already exists. */
  insert (id: LocationId, city: string, active: boolean): Promise<LocationData | undefined>
  /** Returns whether a location was removed. */
  remove (id: LocationId): Promise<boolean>
  /**
   * Resolves when MySQL answers (readiness): at once when it answered a
   * statement within the last 5 s and no connection failed since, so a busy
   * pool is not asked for a connection only to prove what its traffic shows.
   */
  ping (): Promise<void>
  /** Statements sent to MySQL since start-up, readiness pings included; the stampede tests and the bench count them. */
  readonly queryCount: number
}

interface LocationRow extends RowDataPacket {
  country: string
  city: string
  city_key: string
  active: number
}

const SELECT_LOCATIONS = 'SELECT country, city, city_key, active FROM locations WHERE '
const ONE_LOCATION = '(country = ? AND city_key = ?)'
// Enough to empty a queue of reads in a few statements; small enough to stay a quick range scan.
const MAX_BATCH = 100
const SET_ACTIVE = 'CALL set_location_active(?, ?, ?)'
const INSERT_LOCATION = 'INSERT INTO locations (country, city, city_key, active) VALUES (?, ?, ?, ?)'
const DELETE_LOCATION = 'DELETE FROM locations WHERE country = ? AND city_key = ?'

const ER_DUP_ENTRY = 1062
// Longer than any statement a slow MySQL still answers within its budget: a busy pool is still ready.
const RECENT_ANSWER_MS = 5000

function toLocation (row: LocationRow | undefined): LocationData | undefined {
  return row === undefined ? undefined : { country: row.country, city: row.city, active: row.active === 1 }
}

export function createAvailabilityStore (db: StatementRunner): AvailabilityStore {
  const readLocation = createReadBatcher<LocationId, LocationRow>(db, {
    one: ({ country, cityKey }) => ({ sql: SELECT_LOCATIONS + ONE_LOCATION, values: [country, cityKey] }),
    many: ids => ({
      sql: SELECT_LOCATIONS + ids.map(() => ONE_LOCATION).join(' OR '),
      values: ids.flatMap(({ country, cityKey }) => [country, cityKey])
    }),
    keyOfId: locationKey,
    keyOfRow: row => locationKey({ country: row.country, cityKey: row.city_key }),
    maxBatch: MAX_BATCH
  })

  return {
    get queryCount () { return db.statementCount },

    find: async id => toLocation(await readLocation(id)),

    async setActive ({ country, cityKey }, active) {
      // A CALL answers with the procedure's result set, then the CALL's own status.
      const [rows] = await db.write<[LocationRow[], ResultSetHeader]>(SET_ACTIVE, [country, cityKey, active])
      return toLocation(rows[0])
    },

    async insert (id, city, active) {
      try {
        await db.write<ResultSetHeader>(INSERT_LOCATION, [id.country, city, id.cityKey, active])
      } catch (error) {
        if ((error as { errno?: number }).errno === ER_DUP_ENTRY) return undefined
        throw error
      }
      return { country: id.country, city, active }
    },

    async ping () {
      if (db.answeredRecently(RECENT_ANSWER_MS)) return
      await db.read<RowDataPacket[]>('SELECT 1', [])
    },

    async remove ({ country, cityKey }) {
      const result = await db.write<ResultSetHeader>(DELETE_LOCATION, [country, cityKey])
      return result.affectedRows > 0
    }
  }
}
