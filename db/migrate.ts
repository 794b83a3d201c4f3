import { join } from 'node:path'
import mysql, { type RowDataPacket } from 'mysql2/promise'
import Postgrator from 'postgrator'
import type { Config } from '../config/read-config.ts'
import { connectionSettings } from './connection-settings.ts'
import { explainUnreachable } from './unreachable.ts'

const MIGRATIONS = join(import.meta.dirname, 'migrations', '*')
// Replicas starting together take turns, so each migration runs once.
const LOCK_NAME = 'nicaventas_migrations'
// Within Fastify's 10 s plugin timeout, so a stuck lock is reported as such.
const LOCK_WAIT_SECONDS = 8

// MySQL's refusals of CREATE TRIGGER: the privilege itself, and binary logging without SUPER.
const ER_TABLEACCESS_DENIED_ERROR = 1142
const ER_SPECIFIC_ACCESS_DENIED_ERROR = 1227
const ER_BINLOG_CREATE_ROUTINE_NEED_SUPER = 1419

export class TriggerCreationRefused extends Error {
  name = 'TriggerCreationRefused'
}

/** A refused trigger creation (migrations 007-011, 016-019) becomes a message that says what the user needs. */
export function explainRefusal (error: unknown): unknown {
  const { errno, sqlMessage } = error as { errno?: number, sqlMessage?: string }
  const trigger = errno === ER_BINLOG_CREATE_ROUTINE_NEED_SUPER ||
    ((errno === ER_TABLEACCESS_DENIED_ERROR || errno === ER_SPECIFIC_ACCESS_DENIED_ERROR) && /TRIGGER|SUPER/i.test(sqlMessage ?? ''))
  if (!trigger) return error
  return new TriggerCreationRefused(
    'MySQL refused to create the triggers on `locations` that record every change for the history and the cache ' +
    `(error ${errno}). The database user needs the TRIGGER privilege, and with binary logging on (the default in ` +
    'MySQL 8.4) also log_bin_trust_function_creators=1 on the server, or the SUPER privilege. ' +
    'Grant them (or start MySQL with --log-bin-trust-function-creators=1), then start the service again.',
    { cause: error }
  )
}

/**
 * Creates the database when it is missing (and the user may), then applies
 * the SQL migrations in db/migrations. Returns the schema version reached.
 */
export async function migrate (config: Config, lockWaitSeconds = LOCK_WAIT_SECONDS): Promise<number> {
  const settings = connectionSettings(config)
  const connection = await mysql.createConnection(settings).catch(error => { throw explainUnreachable(error, settings) })
  try {
    // Only a missing database is created, so a user without CREATE rights can use one an administrator made;
    // IF NOT EXISTS because replicas starting together may both find it missing.
    const [existing] = await connection.query<RowDataPacket[]>('SELECT 1 FROM information_schema.schemata WHERE schema_name = ?', [config.DATABASE_NAME])
    if (existing.length === 0) {
      await connection.query(`CREATE DATABASE IF NOT EXISTS ${connection.escapeId(config.DATABASE_NAME)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    }
    await connection.changeUser({ database: config.DATABASE_NAME })
    const [lock] = await connection.query<Array<RowDataPacket & { granted: number | null }>>('SELECT GET_LOCK(?, ?) AS granted', [LOCK_NAME, lockWaitSeconds])
    if (!lock.some(row => row.granted === 1)) {
      throw new Error(`Another process has held the migration lock (${LOCK_NAME}) for ${lockWaitSeconds} s; is a migration stuck?`)
    }
    try {
      const postgrator = new Postgrator({
        migrationPattern: MIGRATIONS,
        driver: 'mysql',
        database: config.DATABASE_NAME,
        schemaTable: 'schemaversion',
        execQuery: async (query) => {
          const [rows] = await connection.query(query)
          return { rows: Array.isArray(rows) ? rows : [] }
        }
      })
      try {
        await postgrator.migrate()
      } catch (error) {
        throw explainRefusal(error)
      }
      return await postgrator.getDatabaseVersion()
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME])
    }
  } finally {
    await connection.end()
  }
}
