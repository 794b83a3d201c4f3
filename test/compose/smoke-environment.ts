import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * What the smoke test's compose projects run with: secrets of their own (never a developer's
 * .env), the host port nginx publishes, and an image tag that leaves the developer's
 * nicaventas-disponibilidad:latest alone.
 */
export interface SmokeEnvironment {
  variables: Record<string, string>
  /** The temporary env file (mode 0600) that holds `variables`, passed to compose as --env-file. */
  envFile: string
  /** The environment for docker: this process's, without what would select other files or profiles, plus `variables`. */
  env: NodeJS.ProcessEnv
  /** Deletes the env file and its directory. */
  remove (): void
}

/** Variables with which Compose would pick other files, profiles or names than the smoke test's. */
const COMPOSE_SELECTION = ['COMPOSE_FILE', 'COMPOSE_PROFILES', 'COMPOSE_PROJECT_NAME', 'COMPOSE_ENV_FILES', 'COMPOSE_PATH_SEPARATOR']

export function smokeEnvironment (port: number): SmokeEnvironment {
  const variables: Record<string, string> = {
    // 32 random bytes: 43 characters, above the 32 production requires, and never the Flask service's public token.
    API_TOKENS: randomBytes(32).toString('base64url'),
    DATABASE_PASSWORD: randomBytes(24).toString('hex'),
    MYSQL_ROOT_PASSWORD: randomBytes(24).toString('hex'),
    DATABASE_USER: 'nicaventas',
    DATABASE_NAME: 'nicaventas',
    LOG_LEVEL: 'info',
    IMAGE_TAG: 'compose-smoke',
    PROXY_PORT: String(port)
  }
  const directory = mkdtempSync(join(tmpdir(), 'nicaventas-compose-smoke-'))
  const envFile = join(directory, 'smoke.env')
  writeFileSync(envFile, Object.entries(variables).map(([name, value]) => `${name}=${value}\n`).join(''), { mode: 0o600 })
  const env: NodeJS.ProcessEnv = { ...process.env, ...variables }
  for (const name of COMPOSE_SELECTION) delete env[name]
  return { variables, envFile, env, remove: () => rmSync(directory, { recursive: true, force: true }) }
}

/** The port from COMPOSE_SMOKE_PORT (8000 by default); throws, saying what to set, if it is not a port. */
export function chosenPort (value = process.env.COMPOSE_SMOKE_PORT): number {
  const port = Number(value ?? '8000')
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`COMPOSE_SMOKE_PORT=${value}: not a TCP port (1-65535)`)
  return port
}

/**
 * Fails, saying what to do, when something on this machine already listens on `port` (a
 * developer's own `docker compose up`, say): Docker publishes on every address, so the
 * check binds every address too.
 */
export async function assertPortFree (port: number): Promise<void> {
  const server = createServer()
  server.listen({ port, host: '0.0.0.0', exclusive: true })
  try {
    await once(server, 'listening')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`port ${port} is ${code === 'EADDRINUSE' ? 'taken' : `not usable (${code})`} on this machine ` +
      '(your own `docker compose up`?): choose a free one with COMPOSE_SMOKE_PORT=<port> npm run test:compose')
  }
  server.close()
  await once(server, 'close')
}
