import { loadDemoData } from '../db/demo-data.ts'
import { migrate } from '../db/migrate.ts'
import { readConfig } from '../config/read-config.ts'

const config = readConfig(process.env)
await migrate(config)
console.log(`${await loadDemoData(config)} demo locations added to ${config.DATABASE_NAME}`)
