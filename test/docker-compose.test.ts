import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { readConfig } from '../config/read-config.ts'
import { HTTP_TIMEOUTS, shutdownGraceMs } from '../app.ts'
import type { Config } from '../config/read-config.ts'
import { EnvironmentSchema } from '../schemas/config.ts'
import {
  ROOT, healthcheck, interpolate, rawEnvironment, readCompose, readComposeText, readDockerfile, referencedVariables,
  stageEnvironment, type ComposeFile, type ComposeService, type Stage
} from './support/process-deployment.ts'

// No Docker engine runs here or in CI: these checks read docker-compose.yml and
// docker-compose.cluster.yml, and let the docker client parse them where one is installed
// (parsing needs no engine: neither `docker compose config` nor `docker stack config` does).

const CLUSTER_FILE = 'docker-compose.cluster.yml'
const compose = readCompose()
const services = compose.services
const app = services.app as ComposeService
const appEnv = rawEnvironment(app)
const appServices = ['app', 'app-replica']
const clusterOverlay = readCompose(CLUSTER_FILE)

/** The benchmark's peak RSS of the service, in MiB (docs/performance.md: VmHWM / 1024 over the whole run; 274.1 in the hit rounds). */
const BENCH_PEAK_RSS_MIB = 277.3
const MiB = 1024 * 1024

const exampleVariables: Record<string, string> = Object.fromEntries(
  readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n')
    .map(line => /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim()))
    .filter(match => match !== null)
    .map(([, key, value]) => [key, value])
)

/** .env.example once its placeholder token is replaced, as production requires (config/operator-tokens.ts). */
const completedExample = { ...exampleVariables, API_TOKENS: 'an-operator-token-made-by-openssl-rand' }

function publishedPorts (service: ComposeService): number[] {
  return (service.ports ?? []).map(port => {
    if (typeof port === 'object') return Number(port.published)
    // PROXY_PORT unset: the port the file publishes by default.
    const parts = interpolate(String(port), {}).split(':')
    return parts.length < 2 ? NaN : Number(parts.at(-2))
  })
}

function activeServices (profiles: string[], file: ComposeFile = compose): string[] {
  return Object.entries(file.services)
    .filter(([, service]) => service.profiles === undefined || service.profiles.some(profile => profiles.includes(profile)))
    .map(([name]) => name)
}

function isMapping (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Compose's merge of an override file into a base, for what docker-compose.cluster.yml uses:
 * mappings (environment, depends_on) merge key by key, anything else is replaced. (Compose
 * appends some sequences, ports and volumes among them: the overlay's app overrides set only
 * mappings, which a test below checks, and the docker client's own merge is compared at the end.)
 */
function mergeMappings (base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...base }
  for (const [key, value] of Object.entries(override)) {
    const under = base[key]
    merged[key] = isMapping(value) && isMapping(under) ? mergeMappings(under, value) : value
  }
  return merged
}

const clustered = mergeMappings(compose as unknown as Record<string, unknown>, clusterOverlay as unknown as Record<string, unknown>) as unknown as ComposeFile
const clusterNodes = Object.keys(clusterOverlay.services).filter(name => /^redis-node-\d+$/.test(name)).sort()

/** A compose byte value (256M, 1.5g, 1048576b...) in bytes, as Compose and Swarm read it: k, m, g are powers of 1024. */
function bytes (value: unknown): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(String(value).trim())
  if (match === null) return NaN
  const power = ['b', 'k', 'm', 'g'].indexOf((match[2] || 'b').toLowerCase())
  return Number(match[1]) * 1024 ** power
}

/** A Go duration as compose takes it (5s, 1m30s, 500ms), in milliseconds. */
function durationMs (value: unknown): number {
  const text = String(value)
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map(([part]) => part).join('') !== text) return NaN
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  return parts.reduce((sum, [, amount, suffix = 's']) => sum + Number(amount) * (unit[suffix] ?? NaN), 0)
}

/** The value after a flag in an exec-form command (["redis-server", "--save", ""...]), or undefined. */
function flag (command: unknown, name: string): string | undefined {
  if (!Array.isArray(command)) return undefined
  const index = command.indexOf(name)
  return index === -1 ? undefined : String(command[index + 1])
}

interface Deploy {
  replicas?: number
  resources?: { limits?: { memory?: string, cpus?: string } }
  restart_policy?: { condition?: string, delay?: string, max_attempts?: number, window?: string }
  update_config?: { parallelism?: number, delay?: string, order?: string, failure_action?: string, monitor?: string }
  rollback_config?: { parallelism?: number, order?: string, monitor?: string }
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
  const readTimeout = /proxy_read_timeout (\d+)s;/.exec(conf.slice(conf.indexOf('location / {')))
  const writeBudget = Number(appEnv.DATABASE_WRITE_TIMEOUT_MS ?? EnvironmentSchema.properties.DATABASE_WRITE_TIMEOUT_MS.default)
  t.ok(Number(readTimeout?.[1]) * 1000 > 2 * writeBudget, 'nginx waits longer for an answer than a write may take (its turn, then MySQL\'s answer)')
  t.match(proxy.depends_on, { app: { condition: 'service_healthy' } }, 'starts once the service is healthy')
  t.equal(app.healthcheck, undefined, 'the service\'s health comes from the image\'s HEALTHCHECK...')
  t.ok(healthcheck(readDockerfile().at(-1) as Stage).command.length > 0, '...which the Dockerfile has')
})

t.test('nginx passes the change streams on as they come, and keeps an idle one open past its keep-alive interval', async t => {
  const conf = readFileSync(join(ROOT, 'deploy', 'nginx.conf'), 'utf8')
  const start = conf.indexOf('location ~ ^/(active|ofrep/v1)/events$ {')
  t.ok(start > 0, 'a location for both streams')
  const block = conf.slice(start, conf.indexOf('\n    }', start))
  for (const path of ['/active/events', '/ofrep/v1/events']) t.match(path, /^\/(active|ofrep\/v1)\/events$/, `${path} is matched`)
  t.match(block, /proxy_buffering off;/, 'not buffered')
  t.match(block, /proxy_http_version 1\.1;/)
  const readTimeout = Number(/proxy_read_timeout (\d+)s;/.exec(block)?.[1]) * 1000
  t.ok(readTimeout > 2 * (EnvironmentSchema.properties.CHANGE_STREAM_KEEPALIVE_MS.maximum ?? Infinity), `an idle stream is kept ${readTimeout} ms, two keep-alives at least`)
})

t.test('the replicas are the app, in the scaled profile, several times', async t => {
  const replica = services['app-replica'] as ComposeService & { deploy?: Deploy }
  const { profiles, deploy, ...shared } = replica
  const { deploy: appDeploy, ...appShared } = app as ComposeService & { deploy?: Deploy }
  t.same(profiles, ['scaled'])
  t.ok((deploy?.replicas ?? 0) >= 2, `${deploy?.replicas} replicas`)
  t.same(shared, appShared, 'everything else as the app service (one YAML anchor)')
  t.same({ ...deploy, replicas: appDeploy?.replicas }, appDeploy, 'and the same deploy section but for replicas: the same memory limit')
})

t.test('plain `docker compose up` still starts one instance of the service', async t => {
  const deploy = (app as { deploy?: Deploy }).deploy
  t.equal(deploy?.replicas, 1, 'Compose starts deploy.replicas containers: one, as before the deploy section')
  t.same(activeServices([]).filter(name => appServices.includes(name)), ['app'], 'and app-replica only under --profile scaled')
})

t.test('the app has an image name, which `docker compose build` tags and `docker stack deploy` runs', async t => {
  for (const name of appServices) {
    const service = services[name] as ComposeService & { image?: string, build?: unknown }
    t.equal(service.build, '.', `${name} is still built here`)
    t.match(service.image, /^nicaventas-disponibilidad:\$\{IMAGE_TAG:-latest\}$/, `${name}: the tag from IMAGE_TAG, latest by default`)
    const image = interpolate(String(service.image), exampleVariables)
    t.match(image, /^[a-z0-9]+(?:[._-][a-z0-9]+)*:[\w][\w.-]{0,127}$/, `${name}: ${image} is an image reference`)
  }
  for (const [name, service] of Object.entries(services)) {
    t.ok(typeof service.image === 'string' && service.image !== '', `${name} names an image: Swarm ignores build:`)
  }
})

t.test('the deploy section: replicas, a memory limit from the benchmark, restarts, start-first updates', async t => {
  const deploy = (app as { deploy?: Deploy }).deploy ?? {}
  t.ok(Number.isInteger(deploy.replicas), `replicas is a number: ${deploy.replicas}`)

  const limit = bytes(deploy.resources?.limits?.memory)
  t.ok(limit >= 1.5 * BENCH_PEAK_RSS_MIB * MiB,
    `memory limit ${deploy.resources?.limits?.memory} (${(limit / MiB).toFixed(1)} MiB) is at least 1.5 x the benchmark's peak RSS of ${BENCH_PEAK_RSS_MIB} MiB`)
  t.ok(limit <= 512 * MiB, 'and at most 512 MiB: a limit far above the peak would not stop a leak before the host feels it')
  const nodeOptions = stageEnvironment(readDockerfile().at(-1) as Stage).NODE_OPTIONS ?? ''
  const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1])
  const semiSpace = Number(/--max-semi-space-size=(\d+)/.exec(nodeOptions)?.[1] ?? 64) // else V8's own, up to 64 MiB (docs/performance.md)
  t.ok(oldSpace > 0, `the image caps V8's old space: ${nodeOptions}`)
  t.ok(limit > (oldSpace + 3 * semiSpace) * MiB, 'the limit is above the heap V8 may grow to (old space and young generation): V8 collects before the kernel kills')

  const restart = deploy.restart_policy
  t.ok(restart, 'a restart_policy')
  t.ok(['any', 'on-failure'].includes(restart?.condition ?? ''), `condition ${restart?.condition}`)
  t.ok(durationMs(restart?.delay) > 0, `a delay between restarts: ${restart?.delay}`)
  // Compose turns restart_policy into the container's own policy, and Docker refuses a retry count on `always`.
  t.ok(restart?.condition !== 'any' || restart.max_attempts === undefined, 'no max_attempts with condition any: Compose could not create the container')

  const update = deploy.update_config
  t.equal(update?.order, 'start-first', 'an update starts the new task before it stops the old one')
  t.equal(update?.parallelism, 1, 'one task at a time')
  t.equal(update?.failure_action, 'rollback', 'a failed update rolls back')
  t.ok(durationMs(update?.delay) >= 0 && durationMs(update?.monitor) > 0, `delay ${update?.delay}, monitor ${update?.monitor}`)
  const rollback = deploy.rollback_config
  t.ok(rollback, 'a rollback_config')
  t.equal(rollback?.order, 'start-first', 'a rollback keeps an instance answering too')
})

/**
 * What `docker stack deploy` would need instead of docker-compose.yml: the services of no profile, each
 * depends_on a plain list of names (Swarm's format has neither profiles nor depends_on conditions).
 */
function stackView (): Record<string, unknown> {
  const stackServices = Object.fromEntries(activeServices([]).map(name => {
    const { depends_on: dependsOn, profiles, ...service } = services[name] as ComposeService
    return [name, dependsOn === undefined ? service : { ...service, depends_on: Object.keys(dependsOn) }]
  }))
  return { services: stackServices, volumes: compose.volumes }
}

t.test('Swarm\'s own loader accepts the deploy section (`docker stack config`, no engine)', async t => {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }
  if (spawnSync('docker', ['stack', 'config', '--help'], { env, stdio: 'ignore', timeout: 20_000 }).status !== 0) {
    t.comment('no docker client with `docker stack config` here: the deploy section was checked by the tests above only')
    return
  }
  const raw = spawnSync('docker', ['stack', 'config', '-c', join(ROOT, 'docker-compose.yml')], { env: { ...env, ...exampleVariables }, encoding: 'utf8', timeout: 60_000 })
  t.comment(`docker-compose.yml itself, as the header says: ${raw.status === 0 ? 'accepted' : `refused, ${raw.stderr.trim()}`}`)

  const result = spawnSync('docker', ['stack', 'config', '-c', '-'], {
    env: { ...env, ...exampleVariables }, input: JSON.stringify(stackView()), encoding: 'utf8', timeout: 60_000
  })
  t.equal(result.status, 0, `the services of no profile, depends_on as lists: accepted${result.stderr === '' ? '' : `: ${result.stderr}`}`)
  const loaded = (parse(result.stdout) ?? {}) as { services?: Record<string, { deploy?: Deploy, image?: string }> }
  const deploy = loaded.services?.app?.deploy
  t.equal(Number(deploy?.resources?.limits?.memory), bytes((app as { deploy?: Deploy }).deploy?.resources?.limits?.memory),
    'Swarm reads the memory limit as the bytes this test reckons with')
  t.equal(deploy?.update_config?.order, 'start-first')
  t.equal(deploy?.restart_policy?.condition, (app as { deploy?: Deploy }).deploy?.restart_policy?.condition)
  t.equal(loaded.services?.app?.image, interpolate(String(app.image), exampleVariables), 'and runs the image compose builds')
})

t.test('docker-compose.cluster.yml: six Redis Cluster nodes, the job that creates the cluster, the app pointed at it', async t => {
  t.same(Object.keys(clusterOverlay.services).sort(),
    [...appServices, 'redis-cluster-create', ...[1, 2, 3, 4, 5, 6].map(n => `redis-node-${n}`)].sort())
  t.equal(clusterNodes.length, 6, 'six nodes')
  for (const name of Object.keys(clusterOverlay.services)) {
    t.equal(clusterOverlay.services[name]?.profiles, undefined, `${name} has no profile: the second file is the switch`)
  }
  for (const name of appServices) {
    t.same(Object.keys(clusterOverlay.services[name] ?? {}).sort(), ['depends_on', 'environment'],
      `${name}: the overlay changes where the cache is and what the service waits for, nothing else (mappings: merged, not replaced)`)
  }
})

t.test('each node: Redis 7 in cluster mode, announcing its service name, keeping nothing, with a healthcheck', async t => {
  for (const name of clusterNodes) {
    const node = clusterOverlay.services[name] as ComposeService & { image?: string, command?: unknown }
    t.match(node.image, /^redis:7(\b|$)/, `${name}: Redis 7 (hostnames in CLUSTER SLOTS)`)
    t.equal((node.command as string[] | undefined)?.[0], 'redis-server', `${name} runs redis-server (the image's entrypoint then drops root)`)
    t.equal(flag(node.command, '--cluster-enabled'), 'yes', `${name}: cluster-enabled`)
    t.equal(flag(node.command, '--cluster-config-file'), 'nodes.conf', `${name}: its own nodes.conf`)
    t.equal(flag(node.command, '--cluster-node-timeout'), '5000', `${name}: node timeout 5 s`)
    t.equal(flag(node.command, '--save'), '', `${name}: no RDB snapshots`)
    t.equal(flag(node.command, '--appendonly'), 'no', `${name}: no AOF`)
    t.equal(flag(node.command, '--cluster-announce-hostname'), name, `${name} announces the name Docker's DNS answers for`)
    t.equal(flag(node.command, '--cluster-preferred-endpoint-type'), 'hostname', `${name}: CLUSTER SLOTS and MOVED name nodes by hostname`)
    t.match(node.healthcheck?.test, ['CMD', 'redis-cli', 'ping'], `${name} has a healthcheck`)
    t.same(node.ports ?? [], [], `${name} publishes no port`)
  }
})

const jobCommand = (clusterOverlay.services['redis-cluster-create'] as { command?: string[] } | undefined)?.command ?? []

/** The job's shell script as the container runs it: compose turns $$ into $. */
function jobScript (): string {
  return interpolate(jobCommand[2] ?? '', {})
}

t.test('redis-cluster-create: once every node is healthy, creates three masters with a replica each, and runs once', async t => {
  const job = clusterOverlay.services['redis-cluster-create'] as ComposeService & { image?: string, restart?: unknown }
  t.match(job.image, /^redis:7(\b|$)/, 'redis-cli of Redis 7: it resolves hostnames for CLUSTER MEET')
  t.equal(job.restart, 'no', 'a one-shot job (restart "no", a string: YAML 1.1 reads a bare no as false)')
  t.same(job.depends_on, Object.fromEntries(clusterNodes.map(name => [name, { condition: 'service_healthy' }])), 'it waits for every node to answer PING')

  t.same(jobCommand.slice(0, 2), ['sh', '-c'], 'a shell script')
  t.notMatch((jobCommand[2] ?? '').replaceAll('$$', ''), '$', 'every $ in it doubled: compose substitutes nothing of its own in the script')
  const create = /redis-cli --cluster create ((?:\S+:\d+ )+)(.*)$/m.exec(jobScript())
  t.ok(create, 'the script runs redis-cli --cluster create')
  const listed = (create?.[1] ?? '').trim().split(' ')
  const nodePort = (name: string) => flag(clusterOverlay.services[name]?.command, '--port') ?? '6379'
  t.same(listed, clusterNodes.map(name => `${name}:${nodePort(name)}`), 'naming every node with its port')
  const replicas = Number(/--cluster-replicas (\d+)/.exec(create?.[2] ?? '')?.[1])
  t.equal(replicas, 1, '--cluster-replicas 1')
  t.equal(listed.length / (replicas + 1), 3, 'six nodes with one replica each: three masters, three replicas')
  t.match(create?.[2], /--cluster-yes\b/, 'without asking')
})

t.test('the job\'s script, run against a stand-in redis-cli: creates a new cluster, leaves an existing one alone', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'nicaventas-cluster-job-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // The answers of Redis 7's redis-cli without a terminal (raw: CRLF inside INFO, one line per array item).
  writeFileSync(join(dir, 'redis-cli'), `#!/bin/sh
echo "$*" >> "$STANDIN/calls"
case "$*" in
  "--cluster create "*) echo whole > "$STANDIN/state"; exit 0 ;;
esac
node=$2
case "$3 $4" in
  "cluster info")
    if [ "$(cat "$STANDIN/state")" = whole ]; then printf 'cluster_state:ok\\r\\ncluster_slots_assigned:16384\\r\\ncluster_known_nodes:6\\r\\n'
    else printf 'cluster_state:fail\\r\\ncluster_slots_assigned:0\\r\\ncluster_known_nodes:1\\r\\n'; fi ;;
  "cluster slots")
    # While "$STANDIN/unnamed" counts down, a node's hostname has not reached this node yet: "?".
    unnamed=$(cat "$STANDIN/unnamed" 2>/dev/null || echo 0)
    if [ "$unnamed" -gt 0 ]; then echo $((unnamed - 1)) > "$STANDIN/unnamed"; host='?'; else host=redis-node-1; fi
    printf '0\\n5460\\n%s\\n6379\\nabc\\nip\\n172.18.0.3\\n' "$host" ;;
  "info replication")
    case "$node" in
      redis-node-[123])
        # While "$STANDIN/lag" counts down, a replica is still loading its first copy.
        lag=$(cat "$STANDIN/lag" 2>/dev/null || echo 0)
        if [ "$lag" -gt 0 ]; then echo $((lag - 1)) > "$STANDIN/lag"; sync=wait_bgsave; else sync=online; fi
        printf '# Replication\\r\\nrole:master\\r\\nconnected_slaves:1\\r\\nslave0:ip=172.18.0.9,port=6379,state=%s,offset=42,lag=0\\r\\n' "$sync" ;;
      *) printf '# Replication\\r\\nrole:slave\\r\\nmaster_link_status:up\\r\\n' ;;
    esac ;;
esac
`)
  chmodSync(join(dir, 'redis-cli'), 0o755)
  const run = () => spawnSync('sh', ['-c', jobScript()], {
    env: { PATH: `${dir}:/usr/bin:/bin`, STANDIN: dir }, encoding: 'utf8', timeout: 30_000
  })
  const calls = () => readFileSync(join(dir, 'calls'), 'utf8').split('\n')
  const creates = () => calls().filter(line => line.startsWith('--cluster create'))

  writeFileSync(join(dir, 'state'), 'fresh\n')
  writeFileSync(join(dir, 'unnamed'), '1\n')
  writeFileSync(join(dir, 'lag'), '1\n')
  const first = run()
  t.equal(first.status, 0, `fresh nodes: exits 0 ${first.stderr}`)
  t.equal(creates().length, 1, 'and creates the cluster once')
  const asked = (question: string) => calls().filter(line => line === `-h redis-node-1 ${question}`).length
  t.ok(asked('cluster slots') >= 3, 'waiting, before it exits, for CLUSTER SLOTS to name every node')
  t.ok(asked('info replication') >= 2, 'and for a replica still loading its first copy')
  t.match(first.stdout, /cluster_state:ok on all six nodes/)

  const second = run()
  t.equal(second.status, 0, `a second \`up\`: exits 0 ${second.stderr}`)
  t.equal(creates().length, 1, 'without creating it again')
  t.match(second.stdout, /knows 6 nodes: the cluster exists/)
})

t.test('the cluster app: the six nodes as seeds, waiting for the job, with variables the service reads', async t => {
  for (const name of appServices) {
    const service = clustered.services[name] as ComposeService
    const env = rawEnvironment(service)
    const seeds = (env.REDIS_CLUSTER_NODES ?? '').split(',')
    t.same([...seeds].sort(), clusterNodes.map(node => `${node}:${flag(clustered.services[node]?.command, '--port') ?? '6379'}`),
      `${name}: REDIS_CLUSTER_NODES lists exactly the six nodes with their ports`)
    t.match(service.depends_on, { 'redis-cluster-create': { condition: 'service_completed_successfully' } }, `${name} starts once the cluster exists`)
    t.match(service.depends_on, { mysql: { condition: 'service_healthy' } }, `${name} still waits for MySQL`)
    t.equal(env.REDIS_DB, undefined, `${name}: REDIS_DB unset (a cluster has database 0 only)`)
    // EnvironmentSchema as it stands in schemas/config.ts: REDIS_CLUSTER_NODES is read from there, no list of our own.
    for (const variable of Object.keys(env)) {
      t.ok(variable in EnvironmentSchema.properties, `${name}: ${variable} is a variable the service reads`)
    }
    const config = readConfig(Object.fromEntries(Object.entries(env).map(([key, value]) => [key, interpolate(value, completedExample)])))
    t.match(config, { REDIS_TOPOLOGY: { kind: 'cluster', seeds: clusterNodes.map(host => ({ host, port: 6379 })) } },
      `${name}: the service reads a Redis Cluster of the six nodes from it`)
  }
  t.same(rawEnvironment(clustered.services.app as ComposeService),
    { ...appEnv, REDIS_CLUSTER_NODES: rawEnvironment(clusterOverlay.services.app as ComposeService).REDIS_CLUSTER_NODES },
    'everything else in the app\'s environment as in docker-compose.yml')
})

t.test('with the cluster file: the same proxy on port 8000, the app\'s alias, nothing else published', async t => {
  for (const profiles of [[], ['scaled']]) {
    const active = activeServices(profiles, clustered)
    t.ok(clusterNodes.every(name => active.includes(name)) && active.includes('redis-cluster-create'), `profiles [${profiles.join(', ')}]: the cluster runs`)
    const publishers = active.filter(name => publishedPorts(clustered.services[name] as ComposeService).length > 0)
    t.same(publishers, ['proxy'], `profiles [${profiles.join(', ')}]: only the proxy publishes a port`)
  }
  for (const name of appServices) {
    t.same(clustered.services[name]?.networks, services[name]?.networks, `${name} keeps the alias nginx balances over`)
  }
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

  const withExample = (variables: Record<string, string>) =>
    readConfig(Object.fromEntries(Object.entries(appEnv).map(([key, value]) => [key, interpolate(value, variables)])))
  t.throws(() => withExample(exampleVariables), { message: /^API_TOKENS entry 1 is shorter than 32 characters/ },
    'with .env.example as it is, the service refuses its placeholder token')
  const config = withExample(completedExample)
  t.match(config, { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: 8000, DATABASE_PORT: 3306, REDIS_PORT: 6379, DEMO_DATA: true, TRUST_PROXY_HOPS: 1 },
    'with .env.example and a token of its own, a valid production configuration that loads the demo data, behind one proxy')
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

  for (const file of ['docker-compose.yml', CLUSTER_FILE]) {
    const text = readComposeText(file)
    for (const name of ['API_TOKENS', 'DATABASE_PASSWORD', 'MYSQL_ROOT_PASSWORD']) {
      const example = exampleVariables[name]
      t.ok(example, `.env.example has a placeholder for ${name}`)
      t.notOk(example !== undefined && text.includes(example), `${name}'s placeholder is not copied into ${file}`)
    }
    t.notMatch(text, '2234hj234h2kkjjh42kjj2b20asd6918', `the Flask service's public token is not hard-coded in ${file}`)
  }
  t.same(Object.keys(rawEnvironment(clusterOverlay.services.app as ComposeService)), ['REDIS_CLUSTER_NODES'],
    'the cluster file adds REDIS_CLUSTER_NODES to the app\'s environment and nothing else: no secret of its own')
})

t.test('.env.example documents every variable the files refer to; .env is never committed', async t => {
  const referenced = new Set([readComposeText(), readComposeText(CLUSTER_FILE)].flatMap(text => referencedVariables(text)).map(({ name }) => name))
  t.ok(referenced.has('IMAGE_TAG'), 'IMAGE_TAG among them')
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

t.test('the docker client parses the files, merges the cluster file as this test does, and refuses them without the secrets', async t => {
  const command = composeCommand()
  if (command === undefined) {
    t.comment('neither `docker compose` nor `docker-compose` is installed: the files were checked by the tests above only')
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
  const run = (envFile: string, files: string[], ...args: string[]) =>
    spawnSync(file, [...base, '--project-directory', ROOT, ...files.flatMap(name => ['-f', join(ROOT, name)]), '--env-file', envFile, ...args],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 })

  const fileSets: Array<[string[], ComposeFile]> = [[['docker-compose.yml'], compose], [['docker-compose.yml', CLUSTER_FILE], clustered]]
  for (const [files, model] of fileSets) {
    for (const profiles of [[], ['scaled']]) {
      const what = `${files.join(' + ')}, profiles [${profiles.join(', ')}]`
      const result = run(exampleFile, files, ...profiles.flatMap(profile => ['--profile', profile]), 'config', '--services')
      t.equal(result.status, 0, `valid with .env.example, ${what}: ${result.stderr}`)
      // docker-compose 1.29 lists the services of every profile; `docker compose` only the active ones.
      const listed = result.stdout.trim().split('\n')
      t.ok(activeServices(profiles, model).every(name => listed.includes(name)), `${what}: compose sees ${listed.join(', ')}`)
    }
  }

  // The docker client's own merge of the cluster file, against the one the tests above reckon with.
  const merged = run(exampleFile, ['docker-compose.yml', CLUSTER_FILE], '--profile', 'scaled', 'config')
  const config = (parse(merged.stdout) ?? {}) as ComposeFile
  for (const name of appServices) {
    const service = config.services?.[name] as ComposeService | undefined
    const expected = Object.fromEntries(Object.entries(rawEnvironment(clustered.services[name] as ComposeService))
      .map(([key, value]) => [key, interpolate(value, exampleVariables)]))
    t.same(rawEnvironment(service ?? {}), expected, `${name}: the environment compose merges, as this test merges it`)
    t.same(Object.keys(service?.depends_on ?? {}).sort(), Object.keys(clustered.services[name]?.depends_on ?? {}).sort(), `${name}: the same depends_on`)
    t.match(service?.depends_on, { 'redis-cluster-create': { condition: 'service_completed_successfully' } })
    t.match(service?.deploy, { replicas: name === 'app' ? 1 : Number, resources: { limits: { memory: String } } }, `${name}: the deploy section read as well`)
  }
  t.equal(config.services?.['redis-cluster-create']?.restart, 'no', 'the job\'s restart is the string "no"')

  for (const files of [['docker-compose.yml'], ['docker-compose.yml', CLUSTER_FILE]]) {
    const refused = run(emptyFile, files, 'config', '--quiet')
    t.not(refused.status, 0, `${files.join(' + ')}: without .env compose stops`)
    t.match(refused.stderr, /API_TOKENS|DATABASE_PASSWORD|MYSQL_ROOT_PASSWORD/, 'naming a missing secret')
  }
})
