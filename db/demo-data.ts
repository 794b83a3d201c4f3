import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise'
import type { Config } from '../config/read-config.ts'
import { connectionSettings } from './connection-settings.ts'
import { capitals } from '../domain/countries.ts'
import { cityKey, displayCity } from '../domain/location.ts'

interface DemoLocation {
  country: string
  city: string
  active: boolean
}

// The Flask service's own demo: Managua answers "active": true first.
const NICARAGUA: DemoLocation[] = [
  { country: 'NI', city: 'Managua', active: true },
  { country: 'NI', city: 'León', active: false },
  { country: 'NI', city: 'Granada', active: false },
  { country: 'NI', city: 'Masaya', active: false },
  { country: 'NI', city: 'Rivas', active: false }
]

/** Every country's capital, inactive, and a few Nicaraguan cities; one row per location. */
export function demoLocations (): DemoLocation[] {
  const byKey = new Map<string, DemoLocation>()
  for (const { country, city } of capitals()) {
    byKey.set(`${country}:${cityKey(city)}`, { country, city: displayCity(city), active: false })
  }
  for (const location of NICARAGUA) byKey.set(`${location.country}:${cityKey(location.city)}`, location)
  return [...byKey.values()]
}

/**
 * Inserts the demo locations that are missing and leaves existing rows (and
 * their active flags) alone, so it can run any number of times; with
 * `onlyIntoEmptyTable` (a first start) it adds nothing to a table that has
 * rows. Returns how many rows it added.
 */
export async function loadDemoData (config: Config, { onlyIntoEmptyTable = false } = {}): Promise<number> {
  const connection = await mysql.createConnection({ ...connectionSettings(config), database: config.DATABASE_NAME })
  try {
    const before = await countLocations(connection)
    if (onlyIntoEmptyTable && before > 0) return 0
    const locations = demoLocations()
    const placeholders = locations.map(() => '(?, ?, ?, ?)').join(', ')
    const values = locations.flatMap(({ country, city, active }) => [country, city, cityKey(city), active])
    await connection.execute(
      `INSERT INTO locations (country, city, city_key, active) VALUES ${placeholders} ON DUPLICATE KEY UPDATE id = id`,
      values
    )
    return await countLocations(connection) - before
  } finally {
    await connection.end()
  }
}

async function countLocations (connection: Connection): Promise<number> {
  const [[row]] = await connection.execute<Array<RowDataPacket & { total: number }>>('SELECT COUNT(*) AS total FROM locations')
  return Number(row?.total)
}
