import type { ConnectionOptions } from 'mysql2'
import type { Config } from '../config/read-config.ts'

/** MySQL connection settings shared by the pool, migrations and the seed script. */
export function connectionSettings (config: Config): ConnectionOptions {
  return {
    host: config.DATABASE_HOST,
    port: config.DATABASE_PORT,
    user: config.DATABASE_USER,
    password: config.DATABASE_PASSWORD,
    connectTimeout: config.DATABASE_TIMEOUT_MS,
    enableKeepAlive: true
  }
}
