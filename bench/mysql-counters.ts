import type { Connection, RowDataPacket } from 'mysql2/promise'

/**
 * Server-wide statement counters. Com_select counts SELECTs by either
 * protocol (a prepared statement's execution counts there too, as well as in
 * Com_stmt_execute); SHOW STATUS itself counts in neither.
 */
export interface MysqlCounters {
  Com_select: number
  Com_stmt_execute: number
}

export async function readMysqlCounters (connection: Connection): Promise<MysqlCounters> {
  const [rows] = await connection.query<RowDataPacket[]>("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select', 'Com_stmt_execute')")
  const value = (name: string) => Number(rows.find(row => row.Variable_name === name)?.Value ?? Number.NaN)
  return { Com_select: value('Com_select'), Com_stmt_execute: value('Com_stmt_execute') }
}

export function counterDelta (before: MysqlCounters, after: MysqlCounters): MysqlCounters {
  return {
    Com_select: after.Com_select - before.Com_select,
    Com_stmt_execute: after.Com_stmt_execute - before.Com_stmt_execute
  }
}
