import fp from 'fastify-plugin'
import { loadDemoData } from '../db/demo-data.ts'
import { migrate } from '../db/migrate.ts'

/** Brings the database to the latest schema before anything queries it; loads demo data on a first start. */
export default fp(async function databaseSchema (fastify) {
  const { config } = fastify
  const version = await migrate(config)
  const demoLocationsAdded = config.DEMO_DATA ? await loadDemoData(config, { onlyIntoEmptyTable: true }) : 0
  fastify.log.info({ version, demoLocationsAdded }, 'database ready')
}, { name: 'database-schema', dependencies: ['config'] })
