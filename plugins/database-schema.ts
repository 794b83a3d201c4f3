import fp from 'fastify-plugin'
import mysql from 'mysql2/promise'
import { connectionSettings } from '../db/connection-settings.ts'
import { isEmpty, loadDemoData } from '../db/demo-data.ts'
import { migrate } from '../db/migrate.ts'

/** Brings the database to the latest schema before anything queries it; loads demo data on a first start. */
export default fp(async function databaseSchema (fastify) {
  const { config } = fastify
  const version = await migrate(config)
  fastify.log.info({ version }, 'database schema is up to date')
  if (!config.DEMO_DATA) return

  const pool = mysql.createPool({ ...connectionSettings(config), database: config.DATABASE_NAME, connectionLimit: 1 })
  try {
    if (await isEmpty(pool)) {
      fastify.log.info({ added: await loadDemoData(pool) }, 'empty database: demo locations loaded')
    }
  } finally {
    await pool.end()
  }
}, { name: 'database-schema', dependencies: ['config'] })
