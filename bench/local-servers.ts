import { readFile } from 'node:fs/promises'
import type { Redis } from 'ioredis'
import type { Connection, RowDataPacket } from 'mysql2/promise'

/** The process id, if it is a process on this machine whose name matches: a remote server's id means nothing here. */
async function localPid (pid: number, names: string[]): Promise<number | undefined> {
  if (!Number.isInteger(pid)) return undefined
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')
  return names.includes(comm.trim()) ? pid : undefined
}

/**
 * Redis and MariaDB, when they run on this machine: on the hit path Redis
 * takes its share of the same cores as the service and the load generator,
 * and the table shows how much.
 */
export async function localServerPids (mysql: Connection, redis: Redis): Promise<Record<string, number>> {
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1])
  const [[row]] = await mysql.query<RowDataPacket[]>('SELECT @@pid_file AS pidFile')
  const mysqlPid = Number(await readFile(String(row?.pidFile), 'utf8').catch(() => ''))
  const found: Record<string, number> = {}
  const redisLocal = await localPid(redisPid, ['redis-server'])
  if (redisLocal !== undefined) found.redis = redisLocal
  const mysqlLocal = await localPid(mysqlPid, ['mariadbd', 'mysqld'])
  if (mysqlLocal !== undefined) found.mysql = mysqlLocal
  return found
}
