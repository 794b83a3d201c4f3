import type { Static } from '@sinclair/typebox'
import type { RowDataPacket } from 'mysql2/promise'
import type { Change } from '../../schemas/history.ts'
import type { StatementRunner } from '../database/statement-runner.ts'
import type { LocationId } from '../../domain/location.ts'

/** One change to a location, as GET /active/history answers it. */
export type LocationChange = Static<typeof Change>

export interface LocationHistory {
  /** The current spelling, or for a deleted location the last one stored. */
  city: string
  /** Newest first. */
  changes: LocationChange[]
}

export interface HistoryStore {
  /** A location's last `limit` changes; undefined when it neither exists nor ever existed. */
  read (id: LocationId, limit: number): Promise<LocationHistory | undefined>
}

interface ChangeRow extends RowDataPacket {
  city: string
  action: LocationChange['action']
  active: number | null
  previous: number | null
  operator: string | null
  request_id: string | null
  at: string
}

// DATETIME(3) printed as ISO 8601 by MySQL itself: the column holds UTC (db/migrations/006), so no
// session or driver time zone can shift it. %f prints microseconds; the column keeps milliseconds.
const READ_CHANGES = `SELECT city, action, active, previous, operator, request_id,
  DATE_FORMAT(changed_at, '%Y-%m-%dT%H:%i:%s.%f') AS at
  FROM location_changes WHERE country = ? AND city_key = ? ORDER BY version DESC, id DESC LIMIT ?`
const CURRENT_SPELLING = 'SELECT city FROM locations WHERE country = ? AND city_key = ?'

const flag = (value: number | null): boolean | null => value === null ? null : value === 1

export function createHistoryStore (db: StatementRunner): HistoryStore {
  return {
    async read ({ country, cityKey }, limit) {
      const [rows, current] = await Promise.all([
        db.read<ChangeRow[]>(READ_CHANGES, [country, cityKey, limit]),
        db.read<Array<RowDataPacket & { city: string }>>(CURRENT_SPELLING, [country, cityKey])
      ])
      // A location created before the history existed has a row but no changes yet.
      const city = current[0]?.city ?? rows[0]?.city
      if (city === undefined) return undefined
      return {
        city,
        changes: rows.map(row => ({
          action: row.action,
          active: flag(row.active),
          previous: flag(row.previous),
          operator: row.operator,
          requestId: row.request_id,
          at: `${row.at.slice(0, 23)}Z`
        }))
      }
    }
  }
}
