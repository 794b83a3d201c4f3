import mysql from 'mysql2/promise'
import { connectionSettings } from '../db/connection-settings.ts'
import { loadDemoData } from '../db/demo-data.ts'
import { migrate } from '../db/migrate.ts'
import { readConfig } from '../plugins/config.ts'

const config = readConfig(process.env)
await migrate(config)
const pool = mysql.createPool({ ...connectionSettings(config), database: config.DATABASE_NAME, connectionLimit: 1 })
try {
  console.log(`${await loadDemoData(pool)} demo locations added to ${config.DATABASE_NAME}`)
} finally {
  await pool.end()
}
