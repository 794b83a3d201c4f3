import type { RowDataPacket } from 'mysql2/promise'
import type { StatementRunner } from '../database/statement-runner.ts'

/** One row of `location_changes` (db/migrations/004, 006), as the change stream carries it. */
export interface StoredChange {
  id: number
  country: string
  cityKey: string
  /** The spelling as of this change (before it, for a delete). */
  city: string
  action: 'create' | 'update' | 'delete'
  /** The flag after the change; null for a delete. */
  active: boolean | null
  version: number
  /** ISO 8601, UTC, milliseconds. */
  changedAt: string
}

/** Which changes a subscriber wants: every one, a country's, or one location's. */
export interface ChangeFilter {
  country?: string
  cityKey?: string
}

export interface ChangeLog {
  /** Changes with an id above `afterId`, in id order, at most `limit`. */
  after (afterId: number, limit: number): Promise<StoredChange[]>
  /** The changes among these ids that exist now (ids skipped by later ones: their transactions may have committed since). */
  withIds (ids: number[]): Promise<StoredChange[]>
  /** The newest change id, 0 without any. */
  latestId (): Promise<number>
  /** A resume: the changes matching `filter` with `afterId < id <= upTo`, in id order, at most `limit`. */
  between (afterId: number, upTo: number, filter: ChangeFilter, limit: number): Promise<StoredChange[]>
}

interface ChangeRow extends RowDataPacket {
  id: number
  country: string
  city_key: string
  city: string
  action: StoredChange['action']
  active: number | null
  version: number
  at: string
}

// DATETIME(3) printed by MySQL itself, as services/availability/history-store.ts does: the column holds UTC.
const COLUMNS = `SELECT id, country, city_key, city, action, active, version,
  DATE_FORMAT(changed_at, '%Y-%m-%dT%H:%i:%s.%f') AS at FROM location_changes`
const AFTER = `${COLUMNS} WHERE id > ? ORDER BY id LIMIT ?`
const WITH_IDS = `${COLUMNS} WHERE id IN (?) ORDER BY id`
const LATEST = 'SELECT COALESCE(MAX(id), 0) AS latest FROM location_changes'

// The feed's own statements, apart from the count of those that serve requests.
const BACKGROUND = { background: true }

const toChange = (row: ChangeRow): StoredChange => ({
  id: Number(row.id),
  country: row.country,
  cityKey: row.city_key,
  city: row.city,
  action: row.action,
  active: row.active === null ? null : row.active === 1,
  version: Number(row.version),
  changedAt: `${row.at.slice(0, 23)}Z`
})

function betweenStatement (afterId: number, upTo: number, filter: ChangeFilter, limit: number): { sql: string, values: unknown[] } {
  const where = ['id > ?', 'id <= ?']
  const values: unknown[] = [afterId, upTo]
  if (filter.country !== undefined) {
    where.push('country = ?')
    values.push(filter.country)
  }
  if (filter.cityKey !== undefined) {
    where.push('city_key = ?')
    values.push(filter.cityKey)
  }
  return { sql: `${COLUMNS} WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`, values: [...values, limit] }
}

export function createChangeLog (db: StatementRunner): ChangeLog {
  return {
    after: async (afterId, limit) => (await db.read<ChangeRow[]>(AFTER, [afterId, limit], BACKGROUND)).map(toChange),

    withIds: async ids => (await db.read<ChangeRow[]>(WITH_IDS, [ids], BACKGROUND)).map(toChange),

    async latestId () {
      const rows = await db.read<Array<RowDataPacket & { latest: number }>>(LATEST, [], BACKGROUND)
      // COALESCE(…, 0): always one row.
      return Number(rows[0]!.latest)
    },

    async between (afterId, upTo, filter, limit) {
      const { sql, values } = betweenStatement(afterId, upTo, filter, limit)
      return (await db.read<ChangeRow[]>(sql, values)).map(toChange)
    }
  }
}
