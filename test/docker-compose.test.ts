import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readConfig } from '../plugins/config.ts'
import { HTTP_TIMEOUTS, shutdownGraceMs } from '../app.ts'
import type { Config } from '../plugins/config.ts'
import { EnvironmentSchema } from '../schemas/config.ts'
import {
  ROOT, healthcheck, interpolate, rawEnvironment, readCompose, readComposeText, readDockerfile, referencedVariables,
  type ComposeService, type Stage
} from './support/process-deployment.ts'

// No Docker engine runs here or in CI: these checks read docker-compose.yml, and let the docker
// client parse it where one is installed (parsing needs no engine).

const compose = readCompose()
const services = compose.services
const app = services.app as ComposeService
const appEnv = rawEnvironment(app)
const appServices = ['app', 'app-replica']

const exampleVariables: Record<string, string> = Object.fromEntries(
  readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n')
    .map(line => /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim()))
    .filter(match => match !== null)
    .map(([, key, value]) => [key, value])
)

function publishedPorts (service: ComposeService): number[] {
  return (service.ports ?? []).map(port => {
    if (typeof port === 'object') return Number(port.published)
    const parts = String(port).split(':')
    return parts.length < 2 ? NaN : Number(parts.at(-2))
  })
}

function activeServices (profiles: string[]): string[] {
  return Object.entries(services)
    .filter(([, service]) => service.profiles === undefined || service.profiles.some(profile => profiles.includes(profile)))
    .map(([name]) => name)
}

t.test('the services: the app, its replicas, the proxy, MySQL and Redis', async t => {
  t.same(Object.keys(services).sort(), ['app', 'app-replica', 'mysql', 'proxy', 'redis'])
  t.same(activeServices([]).sort(), ['app', 'mysql', 'proxy', 'redis'], 'docker compose up: one instance')
  t.same(activeServices(['scaled']).sort(), ['app', 'app-replica', 'mysql', 'proxy', 'redis'], '--profile scaled adds the replicas')
})

t.test('port 8000 is published once, by the proxy, with or without the scaled profile', async t => {
  for (const profiles of [[], ['scaled']]) {
    const publishers = activeServices(profiles).filter(name => publishedPorts(services[name] as ComposeService).includes(8000))
    t.same(publishers, ['proxy'], `profiles [${profiles.join(', ')}]: no port clash`)
  }
  for (const name of appServices) {
    t.same(services[name]?.ports ?? [], [], `${name} publishes no port, so it can run as many containers as wanted`)
  }
})

t.test('the proxy is nginx with deploy/nginx.conf, balancing over every instance of the service', async t => {
  const proxy = services.proxy as ComposeService & { image: string, volumes: string[] }
  t.match(proxy.image, /^nginx:1\.(2[89]|[3-9]\d)(\.|-|$)/, 'nginx 1.28 or later: `resolve` in upstream servers')
  const mount = proxy.volumes.find(volume => volume.includes('nginx.conf'))
  t.equal(mount, './deploy/nginx.conf:/etc/nginx/nginx.conf:ro')
  const conf = readFileSync(join(ROOT, 'deploy', 'nginx.conf'), 'utf8')

  const [target] = (proxy.ports ?? []).map(port => Number(String(port).split(':').at(-1)))
  t.match(conf, new RegExp(`\\blisten ${target};`), `nginx listens on the proxy's container port ${target}`)
  const upstream = /server ([\w.-]+):(\d+) resolve;/.exec(conf)
  t.ok(upstream, 'an upstream server re-resolved as instances come and go')
  t.match(conf, /resolver 127\.0\.0\.11\b/, 'through Docker\'s embedded DNS')
  t.equal(upstream?.[2], appEnv.PORT, 'the upstream port is the port the service listens on')
  for (const name of appServices) {
    const networks = services[name]?.networks as { default?: { aliases?: string[] } } | undefined
    t.ok(networks?.default?.aliases?.includes(upstream?.[1] ?? ''), `${name} answers to ${upstream?.[1]}`)
  }
  const upstreamKeepAlive = /keepalive_timeout (\d+)s;/.exec(conf.slice(conf.indexOf('upstream')))
  t.ok(Number(upstreamKeepAlive?.[1]) * 1000 < HTTP_TIMEOUTS.keepAliveTimeout,
    'nginx drops idle upstream connections before the service would, so it never reuses one being closed')
  const readTimeout = /proxy_read_timeout (\d+)s;/.exec(conf)
  const writeBudget = Number(appEnv.DATABASE_WRITE_TIMEOUT_MS ?? EnvironmentSchema.properties.DATABASE_WRITE_TIMEOUT_MS.default)
  t.ok(Number(readTimeout?.[1]) * 1000 > 2 * writeBudget, 'nginx waits longer for an answer than a write may take (its turn, then MySQL\'s answer)')
  t.match(proxy.depends_on, { app: { condition: 'service_healthy' } }, 'starts once the service is healthy')
  t.equal(app.healthcheck, undefined, 'the service\'s health comes from the image\'s HEALTHCHECK...')
  t.ok(healthcheck(readDockerfile().at(-1) as Stage).command.length > 0, '...which the Dockerfile has')
})

t.test('the replicas are the app, in the scaled profile, several times', async t => {
  const replica = services['app-replica'] as ComposeService & { deploy?: { replicas?: number } }
  const { profiles, deploy, ...shared } = replica
  t.same(profiles, ['scaled'])
  t.ok((deploy?.replicas ?? 0) >= 2, `${deploy?.replicas} replicas`)
  t.same(shared, app, 'everything else as the app service (one YAML anchor)')
})

t.test('MySQL 8.4 keeps its data in a named volume and has a healthcheck', async t => {
  const mysql = services.mysql as ComposeService & { image: string, volumes: string[] }
  t.equal(mysql.image, 'mysql:8.4')
  t.same((mysql as { command?: string[] }).command, ['--log-bin-trust-function-creators=1'],
    'binary logging is on by default in 8.4: the service\'s account may create its triggers only with this')
  const volume = mysql.volumes.map(entry => entry.split(':')).find(([, target]) => target === '/var/lib/mysql')
  t.ok(volume, 'a volume on /var/lib/mysql')
  t.ok(Object.hasOwn(compose.volumes ?? {}, volume?.[0] ?? ''), `${volume?.[0]} is a named volume`)
  t.match(mysql.healthcheck?.test, ['CMD', 'mysqladmin', 'ping'])
  t.ok((mysql.healthcheck?.test as string[]).some(arg => /^--host=127\.0\.0\.1$|^-h127\.0\.0\.1$/.test(arg)),
    'over TCP, so the image\'s socket-only initialisation server does not count as healthy')
})

t.test('Redis 7 has a healthcheck', async t => {
  const redis = services.redis as ComposeService & { image: string }
  t.match(redis.image, /^redis:7(\b|$)/)
  t.match(redis.healthcheck?.test, ['CMD', 'redis-cli', 'ping'])
})

t.test('the service waits for healthy MySQL and Redis, and restarts', async t => {
  for (const name of appServices) {
    const service = services[name] as ComposeService & { restart?: string, build?: unknown }
    t.same(service.depends_on, { mysql: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } }, name)
    t.ok(service.restart !== undefined && service.restart !== 'no', `${name} restart: ${service.restart}`)
    t.equal(service.build, '.', `${name} is built from this repository's Dockerfile`)
  }
})

t.test('compose waits for a stopping instance longer than the service waits for its in-flight requests', async t => {
  const writeTimeoutMs = Number(appEnv.DATABASE_WRITE_TIMEOUT_MS ?? EnvironmentSchema.properties.DATABASE_WRITE_TIMEOUT_MS.default)
  const graceMs = shutdownGraceMs({ DATABASE_WRITE_TIMEOUT_MS: writeTimeoutMs } as Config)
  for (const name of appServices) {
    const period = /^(\d+)s$/.exec(String((services[name] as { stop_grace_period?: string }).stop_grace_period))
    t.ok(Number(period?.[1]) * 1000 > graceMs, `${name}: stop_grace_period ${period?.[1]} s, the service's grace ${graceMs / 1000} s`)
  }
})

t.test('every variable the service reads is set in the app\'s environment or has a default', async t => {
  const properties = EnvironmentSchema.properties as Record<string, { default?: unknown }>
  const required = new Set<string>(EnvironmentSchema.required ?? [])
  for (const [name, schema] of Object.entries(properties)) {
    const how = name in appEnv ? 'set' : 'default' in schema ? `default ${JSON.stringify(schema.default)}` : required.has(name) ? undefined : 'optional, unset'
    t.ok(how, `${name}: ${how ?? 'required and not set'}`)
  }
  for (const name of Object.keys(appEnv)) {
    t.ok(name in properties, `${name} is a variable the service reads`)
  }
  for (const name of ['DATABASE_HOST', 'DATABASE_USER', 'DATABASE_PASSWORD', 'DATABASE_NAME', 'REDIS_LOCATION', 'REDIS_PORT']) {
    t.ok(name in appEnv, `${name}: the Flask service's variable name`)
  }
  t.equal(appEnv.DATABASE_HOST, 'mysql', 'DATABASE_HOST is the mysql service')
  t.equal(appEnv.REDIS_LOCATION, 'redis', 'REDIS_LOCATION is the redis service')

  const config = readConfig(Object.fromEntries(Object.entries(appEnv).map(([key, value]) => [key, interpolate(value, exampleVariables)])))
  t.match(config, { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: 8000, DATABASE_PORT: 3306, REDIS_PORT: 6379, DEMO_DATA: true },
    'with .env.example, a valid production configuration that loads the demo data')
  t.equal(config.API_TOKEN_GENERATED, false, 'with the tokens from .env')
})

t.test('secrets come from .env, never from this file', async t => {
  const mysqlEnv = rawEnvironment(services.mysql as ComposeService)
  const secrets: Array<[string, string | undefined, string]> = [
    ['app API_TOKENS', appEnv.API_TOKENS, 'API_TOKENS'],
    ['app DATABASE_PASSWORD', appEnv.DATABASE_PASSWORD, 'DATABASE_PASSWORD'],
    ['mysql MYSQL_PASSWORD', mysqlEnv.MYSQL_PASSWORD, 'DATABASE_PASSWORD'],
    ['mysql MYSQL_ROOT_PASSWORD', mysqlEnv.MYSQL_ROOT_PASSWORD, 'MYSQL_ROOT_PASSWORD']
  ]
  for (const [where, value, variable] of secrets) {
    t.match(value, new RegExp(`^\\$\\{${variable}:\\?[^}]+\\}$`), `${where} is \${${variable}:?message}: required, no default`)
  }
  t.equal(mysqlEnv.MYSQL_USER, appEnv.DATABASE_USER, 'MySQL creates the account the service uses')
  t.equal(mysqlEnv.MYSQL_DATABASE, appEnv.DATABASE_NAME, 'MySQL creates the database the service uses')

  const text = readComposeText()
  for (const name of ['API_TOKENS', 'DATABASE_PASSWORD', 'MYSQL_ROOT_PASSWORD']) {
    const example = exampleVariables[name]
    t.ok(example, `.env.example has a placeholder for ${name}`)
    t.notOk(example !== undefined && text.includes(example), `${name}'s placeholder is not copied into docker-compose.yml`)
  }
  t.notMatch(text, '2234hj234h2kkjjh42kjj2b20asd6918', 'the Flask service\'s public token is not hard-coded')
})

t.test('.env.example documents every variable the file refers to; .env is never committed', async t => {
  const referenced = new Set(referencedVariables(readComposeText()).map(({ name }) => name))
  for (const name of referenced) t.ok(name in exampleVariables, `.env.example has ${name}`)
  const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n').map(line => line.trim())
  t.ok(ignored.includes('.env'), '.gitignore has .env')
  t.notOk(ignored.includes('.env*') || ignored.includes('.env.*'), '.env.example stays committed')
})

/** The docker client that can parse compose files here: `docker compose` (v2), else Debian's docker-compose 1.29. */
function composeCommand (): string[] | undefined {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const [file = '', ...args] = command
    if (spawnSync(file, [...args, 'version'], { env, stdio: 'ignore', timeout: 20_000 }).status === 0) return command
  }
  return undefined
}

t.test('the docker client parses the file, and refuses it without the secrets', async t => {
  const command = composeCommand()
  if (command === undefined) {
    t.comment('neither `docker compose` nor `docker-compose` is installed: the file was checked by the tests above only')
    return
  }
  t.comment(`parsing with \`${command.join(' ')}\``)
  const dir = mkdtempSync(join(tmpdir(), 'nicaventas-compose-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const exampleFile = join(dir, 'example.env')
  const emptyFile = join(dir, 'empty.env')
  writeFileSync(exampleFile, readFileSync(join(ROOT, '.env.example')))
  writeFileSync(emptyFile, '')
  t.ok(existsSync(join(ROOT, 'Dockerfile')), 'the build context has a Dockerfile')

  // --env-file stands in for .env, so a developer's own .env plays no part; no variable of ours leaks in either.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }
  const [file = '', ...base] = command
  const run = (envFile: string, ...args: string[]) =>
    spawnSync(file, [...base, '--project-directory', ROOT, '-f', join(ROOT, 'docker-compose.yml'), '--env-file', envFile, ...args],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 })

  for (const profiles of [[], ['scaled']]) {
    const result = run(exampleFile, ...profiles.flatMap(profile => ['--profile', profile]), 'config', '--services')
    t.equal(result.status, 0, `valid with .env.example, profiles [${profiles.join(', ')}]: ${result.stderr}`)
    // docker-compose 1.29 lists the services of every profile; `docker compose` only the active ones.
    const listed = result.stdout.trim().split('\n')
    t.ok(activeServices(profiles).every(name => listed.includes(name)), `compose sees ${listed.join(', ')}`)
  }
  const refused = run(emptyFile, 'config', '--quiet')
  t.not(refused.status, 0, 'without .env compose stops')
  t.match(refused.stderr, /API_TOKENS|DATABASE_PASSWORD|MYSQL_ROOT_PASSWORD/, 'naming a missing secret')
})
