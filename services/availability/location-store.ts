import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { LocationData } from '../../schemas/location.ts'
import { createReadBatcher } from '../database/read-batcher.ts'
import { createRolledBackRetry, type RolledBackRetryStats } from '../database/rolled-back-retry.ts'
import type { StatementRunner } from '../database/statement-runner.ts'
import { locationKey, type LocationId } from '../../domain/location.ts'

/** A location as MySQL holds it: with the version every change raises (db/migrations/003, 009, 017, 019). */
export interface StoredLocation extends LocationData {
  version: number
}

/** One city of a country's list, with what the cache needs to tell an older list from a fresher one. */
export interface StoredCity {
  city: string
  active: boolean
  /** The city key: what the sync compares an invalidation record with. */
  key: string
  version: number
}

export interface CountryCities {
  country: string
  /** Sorted by city key. */
  cities: StoredCity[]
}

/** Who makes a write: named in the history the triggers write (db/migrations/006, 021-023). */
export interface Writer {
  /** The bearer token's name (API_TOKENS). */
  operator: string
  requestId: string
}

export interface AvailabilityStore {
  find (id: LocationId): Promise<StoredLocation | undefined>
  /** A country's cities, sorted by city key. */
  listCountry (country: string): Promise<CountryCities>
  /** Returns the updated location as stored, or undefined when there is none. */
  setActive (id: LocationId, active: boolean, writer: Writer): Promise<StoredLocation | undefined>
  /** Returns the inserted location, or undefined when it already exists. */
  insert (id: LocationId, city: string, active: boolean, writer: Writer): Promise<StoredLocation | undefined>
  /** Returns whether a location was removed. */
  remove (id: LocationId, writer: Writer): Promise<boolean>
  /**
   * Switches the named cities of a country (keys distinct), or all of them when `cityKeys` is undefined, in one
   * transaction: applied only when every named city exists. `found` is the cities as they were, locked, before the change.
   */
  setActiveMany (country: string, cityKeys: string[] | undefined, active: boolean, writer: Writer): Promise<BulkOutcome>
  /**
   * Resolves when MySQL answers (readiness): at once when it answered a
   * statement within the last 5 s and no connection failed since, so a busy
   * pool is not asked for a connection only to prove what its traffic shows.
   */
  ping (): Promise<void>
  /** Statements sent to MySQL since start-up, readiness pings included; the stampede tests and the bench count them. */
  readonly queryCount: number
  /** Writes MySQL rolled back for concurrent ones (deadlocks, lock waits): retried, or given up and answered 503. */
  readonly rolledBackWrites: RolledBackRetryStats
}

/** What the bulk switch did, from its own transaction (db/migrations/024). */
export interface BulkOutcome {
  found: StoredCity[]
  /** False when a named city does not exist: nothing was changed. */
  applied: boolean
  /** Rows the UPDATE changed (its ROW_COUNT). */
  changed: number
}

export interface AvailabilityStoreOptions {
  /** The write budget (DATABASE_WRITE_TIMEOUT_MS): a rolled back write is sent again only while another attempt as long as the last still fits in it; each attempt has its own statement budget, so a retry that then meets a lock wait may outlast it. */
  writeBudgetMs: number
}

interface LocationRow extends RowDataPacket {
  country: string
  city: string
  city_key: string
  active: number
  version: number
}

const SELECT_LOCATIONS = 'SELECT country, city, city_key, active, version FROM locations WHERE '
const ONE_LOCATION = '(country = ? AND city_key = ?)'
/** A miss's statement while a pooled connection is free (under a queue, several share one statement); the benchmark measures MariaDB's rate for it. */
export const SELECT_ONE_LOCATION = SELECT_LOCATIONS + ONE_LOCATION
// Enough to empty a queue of reads in a few statements; small enough to stay a quick range scan.
const MAX_BATCH = 100
const LIST_COUNTRY = 'SELECT city, city_key, active, version FROM locations WHERE country = ? ORDER BY city_key'
// The writes are procedures, so each names its writer for the history in the same round trip, and
// answers from its own transaction (db/migrations/021-023): what it says is what it did.
const SET_ACTIVE = 'CALL set_location_active_in_transaction(?, ?, ?, ?, ?)'
const INSERT_LOCATION = 'CALL insert_location_in_transaction(?, ?, ?, ?, ?, ?)'
const DELETE_LOCATION = 'CALL delete_location_in_transaction(?, ?, ?, ?)'
const SET_MANY_ACTIVE = 'CALL set_locations_active_in_transaction(?, ?, ?, ?, ?)'
// A deadlock is found at once: a few quick retries, spread by jitter, let colliding writers through.
const WRITE_ATTEMPTS = 5
const RETRY_BASE_DELAY_MS = 20

const ER_DUP_ENTRY = 1062
// Longer than any statement a slow MySQL still answers within its budget: a busy pool is still ready.
const RECENT_ANSWER_MS = 5000

// A CALL answers with the procedure's result set, then the CALL's own status.
type CallResult<Row> = [Row[], ResultSetHeader]
// Two result sets, then the status: the runner's types know of one, so the bulk CALL reads its answer as this.
type BulkCallResult = [LocationRow[], Array<RowDataPacket & { applied: number, changed: number }>, ResultSetHeader]

function toLocation (row: LocationRow | undefined): StoredLocation | undefined {
  return row === undefined
    ? undefined
    : { country: row.country, city: row.city, active: row.active === 1, version: Number(row.version) }
}

function toStoredCity (row: LocationRow): StoredCity {
  return { city: row.city, active: row.active === 1, key: row.city_key, version: Number(row.version) }
}

function bulkOutcome (answer: unknown): BulkOutcome {
  const [rows, [status]] = answer as BulkCallResult
  return { found: rows.map(toStoredCity), applied: status?.applied === 1, changed: Number(status?.changed) }
}

export function createAvailabilityStore (db: StatementRunner, options: AvailabilityStoreOptions): AvailabilityStore {
  const retrying = createRolledBackRetry({ attempts: WRITE_ATTEMPTS, baseDelayMs: RETRY_BASE_DELAY_MS, budgetMs: options.writeBudgetMs })
  const readLocation = createReadBatcher<LocationId, LocationRow>(db, {
    one: ({ country, cityKey }) => ({ sql: SELECT_ONE_LOCATION, values: [country, cityKey] }),
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
    rolledBackWrites: retrying.stats,

    find: async id => toLocation(await readLocation(id)),

    async listCountry (country) {
      const rows = await db.read<LocationRow[]>(LIST_COUNTRY, [country])
      return { country, cities: rows.map(toStoredCity) }
    },

    async setActive ({ country, cityKey }, active, writer) {
      const [rows] = await retrying(() => db.write<CallResult<LocationRow>>(SET_ACTIVE, [country, cityKey, active, writer.operator, writer.requestId]))
      return toLocation(rows[0])
    },

    async insert (id, city, active, writer) {
      try {
        const [rows] = await retrying(() => db.write<CallResult<LocationRow>>(INSERT_LOCATION, [id.country, city, id.cityKey, active, writer.operator, writer.requestId]))
        return toLocation(rows[0])
      } catch (error) {
        if ((error as { errno?: number }).errno === ER_DUP_ENTRY) return undefined
        throw error
      }
    },

    async ping () {
      if (db.answeredRecently(RECENT_ANSWER_MS)) return
      await db.read<RowDataPacket[]>('SELECT 1', [])
    },

    async setActiveMany (country, cityKeys, active, writer) {
      const keys = cityKeys === undefined ? null : JSON.stringify(cityKeys)
      return bulkOutcome(await retrying(() => db.write<CallResult<RowDataPacket>>(SET_MANY_ACTIVE, [country, keys, active, writer.operator, writer.requestId])))
    },

    async remove ({ country, cityKey }, writer) {
      const [rows] = await retrying(() => db.write<CallResult<RowDataPacket & { removed: number }>>(DELETE_LOCATION, [country, cityKey, writer.operator, writer.requestId]))
      return Number(rows[0]?.removed) > 0
    }
  }
}
