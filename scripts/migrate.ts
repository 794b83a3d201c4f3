import { migrate } from '../db/migrate.ts'
import { readConfig } from '../config/read-config.ts'

const config = readConfig(process.env)
const version = await migrate(config)
console.log(`${config.DATABASE_NAME} is at schema version ${version}`)
