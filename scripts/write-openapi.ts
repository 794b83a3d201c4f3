import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildApp } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { openApiJson } from './openapi-json.ts'

// The document depends on the code only, but building the app needs its servers: the defaults (or your env) are used.
const app = await buildApp({ config: readConfig({ ...process.env, LOG_LEVEL: 'warn', API_TOKENS: 'unused-for-documentation' }) })
await app.ready()
const target = join(import.meta.dirname, '..', 'openapi.json')
await writeFile(target, openApiJson(app))
await app.close()
console.log(`wrote ${target}`)
