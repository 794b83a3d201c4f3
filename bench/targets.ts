import { join, resolve } from 'node:path'
import packageJson from '../package.json' with { type: 'json' }
import { freePort, startNode, waitUntilServing, type Child } from './children.ts'
import { infrastructure } from './infrastructure.ts'

export interface Target {
  child: Child
  baseUrl: string
}

const ROOT = join(import.meta.dirname, '..')

export interface ServiceSettings {
  databaseName: string
  namespace: string
  token: string
  /** Node flags before the script, e.g. --cpu-prof. */
  nodeFlags?: string[]
  /** Settings beyond the defaults, e.g. the local tier's. */
  env?: Record<string, string>
  /** The built service's directory, relative to the repository (bench/compare-builds.ts): `dist` unless given. */
  build?: string
  /** V8's heap flags: the production ones unless given. */
  heapFlags?: string[]
}

/** The node flags `npm run start:dist` (and the image, through NODE_OPTIONS) starts the service with: V8's heap sizing. */
export const PRODUCTION_NODE_FLAGS = packageJson.scripts['start:dist'].split(' ').slice(1, -1)

/**
 * The built service as production runs it (`node <heap flags> dist/server.js`), with
 * only the variables below: nothing from the caller's environment changes
 * what is measured. Ready when GET /ready answers 200 (MySQL reachable,
 * migrations and demo data done).
 */
export async function startService (settings: ServiceSettings): Promise<Target> {
  const port = await freePort()
  const child = startNode('service', [...settings.heapFlags ?? PRODUCTION_NODE_FLAGS, ...settings.nodeFlags ?? [], resolve(ROOT, settings.build ?? 'dist', 'server.js')], {
    PATH: process.env.PATH ?? '',
    ...infrastructure,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: String(port),
    API_TOKENS: settings.token,
    DEMO_DATA: 'true',
    DATABASE_NAME: settings.databaseName,
    CACHE_NAMESPACE: settings.namespace,
    ...settings.env
  })
  const baseUrl = `http://127.0.0.1:${port}`
  await waitUntilServing(child, `${baseUrl}/ready`)
  return { child, baseUrl }
}

/**
 * One of the bench's own servers (bench/<script>), as production would run it (NODE_ENV=production),
 * on a free port with only `env` besides; ready when `readyPath` answers 200.
 */
async function startBenchServer (name: string, script: string, readyPath: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<Target> {
  const port = await freePort()
  const child = startNode(name, [...nodeFlags, join(ROOT, 'bench', script)], {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(port),
    ...env
  })
  const baseUrl = `http://127.0.0.1:${port}`
  await waitUntilServing(child, `${baseUrl}${readyPath}`)
  return { child, baseUrl }
}

/** The request every alternating round sends: one warm location. */
export const MANAGUA_PATH = '/active?country=NI&city=Managua'

/** Bare Fastify plus one ioredis GET (bench/anchor-server.ts), its key under the bench's namespace. */
export async function startAnchor (namespace: string): Promise<Target> {
  return await startBenchServer('anchor server', 'anchor-server.ts', '/active', {
    REDIS_LOCATION: infrastructure.REDIS_LOCATION,
    REDIS_PORT: infrastructure.REDIS_PORT,
    ANCHOR_KEY: `${namespace}:anchor`
  })
}

/** The service's shell without its data (bench/shell-server.ts): its server and per-request plugins, answering a constant, started as the service is. */
export async function startShell (): Promise<Target> {
  return await startBenchServer('shell server', 'shell-server.ts', MANAGUA_PATH, {}, PRODUCTION_NODE_FLAGS)
}

/** Bare Fastify plus one point select per request (bench/statement-server.ts), on the service's database. */
export async function startStatementServer (databaseName: string, poolSize: number): Promise<Target> {
  return await startBenchServer('statement server', 'statement-server.ts', MANAGUA_PATH, {
    ...infrastructure,
    DATABASE_NAME: databaseName,
    POOL_SIZE: String(poolSize)
  })
}

/** The bare Fastify server (bench/baseline-server.ts), logging off or at info. */
export async function startBaseline (log: 'off' | 'info'): Promise<Target> {
  return await startBenchServer('bare server', 'baseline-server.ts', '/active', { BASELINE_LOG: log })
}
