import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { RecordSource } from '../cache/record-sync.ts'
import type { StatementRunner } from '../database/statement-runner.ts'

/** One change to a location, as the triggers record it for the caches (db/migrations/005, 006). */
export interface InvalidationRecord {
  id: number
  country: string
  cityKey: string
  /** The location's version after the change: cached answers at this version or later are current. */
  version: number
  /** Whether the change removed the location. */
  deleted: boolean
}

/** The SQL over the records (`cache_invalidations`) that the cache's sync reads and purges. */
export type InvalidationRecordStore = RecordSource<InvalidationRecord>

interface RecordRow extends RowDataPacket {
  id: number
  country: string
  city_key: string
  version: number
  deleted: number
}

const WITH_IDS = 'SELECT id, country, city_key, version, deleted FROM cache_invalidations WHERE id IN (?) ORDER BY id'
const AFTER = 'SELECT id, country, city_key, version, deleted FROM cache_invalidations WHERE id > ? ORDER BY id LIMIT ?'
// Without a young record, the newest id: nothing before it can still be cached.
const START = `SELECT COALESCE(
  (SELECT MIN(id) - 1 FROM cache_invalidations WHERE created_at >= UTC_TIMESTAMP(3) - INTERVAL ? SECOND),
  (SELECT MAX(id) FROM cache_invalidations), 0) AS start`
const PURGE = 'DELETE FROM cache_invalidations WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND LIMIT ?'

// The sync's own statements, apart from the count of those that serve requests.
const BACKGROUND = { background: true }

const toRecord = (row: RecordRow): InvalidationRecord => ({
  id: Number(row.id), country: row.country, cityKey: row.city_key, version: Number(row.version), deleted: row.deleted === 1
})

export function createInvalidationRecordStore (db: StatementRunner): InvalidationRecordStore {
  return {
    after: async (afterId, limit) => (await db.read<RecordRow[]>(AFTER, [afterId, limit], BACKGROUND)).map(toRecord),

    withIds: async ids => (await db.read<RecordRow[]>(WITH_IDS, [ids], BACKGROUND)).map(toRecord),

    async startBefore (seconds) {
      const rows = await db.read<Array<RowDataPacket & { start: number }>>(START, [seconds], BACKGROUND)
      // COALESCE(…, 0): always one row.
      return Number(rows[0]!.start)
    },

    async purge (seconds, limit) {
      const result = await db.write<ResultSetHeader>(PURGE, [seconds, limit], BACKGROUND)
      return result.affectedRows
    }
  }
}
