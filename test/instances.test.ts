import { setTimeout as sleep } from 'node:timers/promises'
import mysql from 'mysql2/promise'
import t, { type Test } from 'tap'
import { cleanUp, isolatedEnv } from './helper.ts'
import { buildImageLayout, imageStartCommand, runtime } from './support/image-layout.ts'
import { sampleIn } from './support/metrics-sample.ts'
import { freePort } from './support/port-free.ts'
import { stageEnvironment } from './support/process-deployment.ts'
import { spawnServer, waitForStatus, type Exit, type ServerProcess } from './support/process-server.ts'
import { startRedisCluster } from './support/redis-cluster.ts'
import { startRoundRobinProxy, type RoundRobinProxy } from './support/round-robin-proxy.ts'
import { runReadersWriters, runUntilDecisive, sendOnFreshConnection, type LoadResult } from './support/stale-read-check.ts'
import { until } from './support/until.ts'

// Three real service processes, started as the image starts them (its CMD, `node dist/server.js`,
// on a build laid out as its runtime stage), sharing one MariaDB database and one Redis namespace,
// each on its own port, behind a round-robin TCP proxy standing in for nginx (deploy/nginx.conf).

t.setTimeout(170_000)

const QUERIES = 'nicaventas_mysql_queries_total'
// Demo data (db/demo-data.ts): what the load flips, and its values before it.
const INITIAL = new Map([['Managua', true], ['León', false], ['Granada', false], ['Masaya', false]])

let layout = ''
t.before(async () => { layout = await buildImageLayout(t) })

interface Instance {
  readonly port: number
  readonly url: string
  /** The process now serving this port. */
  readonly server: ServerProcess
  /** SIGTERM, wait for the exit, start it again on the same port, wait until it is ready. */
  restart (): Promise<Exit>
}

interface Deployment {
  env: Record<string, string>
  instances: Instance[]
  proxy: RoundRobinProxy
  /** A connection of the test's own to the deployment's database. */
  sql (): Promise<mysql.Connection>
}

/**
 * Three instances with one environment but their PORT, behind the proxy, all ready; everything
 * is stopped and the database and the cache namespace dropped when `t` ends. `redisEnv` is the
 * Redis part of the environment (one Redis here; a cluster through REDIS_CLUSTER_NODES, say).
 */
async function deployment (t: Test, redisEnv: Record<string, string>): Promise<Deployment> {
  // The image's ENV (NODE_ENV=production, its heap sizes), then one isolated database and namespace.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...stageEnvironment(runtime),
    ...isolatedEnv({ NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...redisEnv })
  }
  const servers: ServerProcess[] = []
  const connections: mysql.Connection[] = []
  const ports = await Promise.all([0, 1, 2].map(() => freePort()))
  const proxy = await startRoundRobinProxy(ports)
  t.teardown(async () => {
    // stop(): SIGTERM, then SIGKILL if it has not exited within 2 s.
    await Promise.all(servers.map(server => server.stop(2000)))
    await proxy.close()
    await Promise.all(connections.map(connection => connection.end()))
    await cleanUp(env)
  })

  const start = async (port: number): Promise<ServerProcess> => {
    const server = spawnServer(imageStartCommand(), { cwd: layout, env: { ...env, PORT: String(port) } })
    servers.push(server)
    // Readiness (routes/health.ts): /ready answers 200 once MySQL answers; /health only says the process serves.
    await waitForStatus(server, `http://127.0.0.1:${port}/ready`, 200, 30_000)
    return server
  }
  // Started together, as replicas are: they take turns on the migration's lock.
  const current = await Promise.all(ports.map(port => start(port)))
  const instances = ports.map((port, index): Instance => ({
    port,
    url: `http://127.0.0.1:${port}`,
    get server () { return current[index] as ServerProcess },
    async restart () {
      const exit = await (current[index] as ServerProcess).stop()
      current[index] = await start(port)
      return exit
    }
  }))

  return {
    env,
    instances,
    proxy,
    async sql () {
      const connection = await mysql.createConnection({
        host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), user: env.DATABASE_USER, password: env.DATABASE_PASSWORD, database: env.DATABASE_NAME
      })
      connections.push(connection)
      return connection
    }
  }
}

/** The single Redis every other test uses. */
const localRedis = (): Record<string, string> => {
  const { REDIS_LOCATION, REDIS_PORT } = isolatedEnv()
  return { REDIS_LOCATION: REDIS_LOCATION as string, REDIS_PORT: REDIS_PORT as string }
}

/** What the storm is measured by, and what explains its figure, from an instance's own /metrics. */
const STORM_METRICS = [QUERIES, 'nicaventas_cache_record_keys_deleted_total', 'nicaventas_cache_fills_total{result="refused"}']

async function stormMetricsOf (instance: Instance): Promise<number[]> {
  const response = await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const text = await response.text()
  // A counter with labels prints no line before its first count.
  return STORM_METRICS.map(name => { try { return sampleIn(text, name) } catch { return 0 } })
}

/** `active` of each location, as MySQL holds it. */
async function databaseValues (connection: mysql.Connection): Promise<Map<string, boolean>> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT city, active FROM locations WHERE country = ?', ['NI'])
  return new Map(rows.map(row => [row.city as string, Boolean(row.active)]))
}

function describe (result: LoadResult): string {
  return `${result.reads.length} reads against ${result.acknowledged} acknowledged writes ` +
    `(${result.reads.length + result.acknowledged} operations), ${result.decisive} reads with exactly one allowed value`
}

/** Reads with a single right answer a load must have made for its check to mean something. */
const DECISIVE_READS = 200

function checkLoad (t: Test, result: LoadResult, writers: number): void {
  t.same(result.failures.slice(0, 10), [], `every request answered 200 (${result.failures.length} did not)`)
  t.same(result.violations.slice(0, 10), [], `no stale read: none older than the last write acknowledged before it started (${result.violations.length} were)`)
  t.ok(result.acknowledged >= writers * 10, `the writers wrote (${result.acknowledged} acknowledged)`)
  t.ok(result.decisive >= DECISIVE_READS, `enough reads had a single right answer to catch a stale one (${result.decisive})`)
}

async function readersAndWriters (t: Test, redisEnv: Record<string, string>): Promise<void> {
  const { proxy, instances } = await deployment(t, redisEnv)
  const WRITERS = 8
  // More rounds of 6 s on a loaded machine, until checkLoad's decisive reads are there.
  const result = await runUntilDecisive({
    baseUrls: [proxy.url], initial: INITIAL, durationMs: 6000, readers: 24, writers: WRITERS, send: sendOnFreshConnection
  }, DECISIVE_READS, 3)
  t.comment(`checked ${describe(result)} in ${result.rounds} round(s); connections per instance ${proxy.connections.join(', ')}`)
  checkLoad(t, result, WRITERS)
  // One connection per request, handed out in turn, none refused: the three counts differ by at most one.
  t.ok(Math.max(...proxy.connections) - Math.min(...proxy.connections) <= 1, 'the proxy spread the requests evenly over the instances')
  t.same(proxy.dropped, [], 'the proxy dropped nothing')
  for (const instance of instances) t.equal(instance.server.child.exitCode, null, `instance on ${instance.port} still running`)
}

async function missStorm (t: Test, redisEnv: Record<string, string>): Promise<void> {
  const { proxy, instances, sql, env } = await deployment(t, redisEnv)
  const query = `${proxy.url}/active?country=NI&city=Rivas`
  const get = async () => {
    const answer = await sendOnFreshConnection('GET', query)
    return { status: answer.status, body: JSON.parse(answer.body) as { active?: boolean, redis_cache?: string } }
  }
  // Warm the entry, then a PUT through the proxy deletes it: the location is cold again.
  t.equal((await get()).body.redis_cache, 'miss')
  t.equal((await get()).body.redis_cache, 'hit', 'warm')
  const put = await sendOnFreshConnection('PUT', `${proxy.url}/active`, JSON.stringify({ country: 'NI', city: 'Rivas', active: true }))
  t.equal(put.status, 200, 'the PUT invalidates the entry')

  // A table lock holds the first MySQL read until every request of the storm has reached an
  // instance, so the storm overlaps that read, in all three processes, however fast MySQL is.
  const lock = await sql()
  const observer = await sql()
  await lock.query('LOCK TABLES locations WRITE')
  let unlocked = false
  const unlock = async () => { if (!unlocked) { unlocked = true; await lock.query('UNLOCK TABLES') } }
  t.teardown(() => unlock().catch(() => {}))

  const before = await Promise.all(instances.map(stormMetricsOf))
  const connectionsBefore = proxy.connections.reduce((sum, count) => sum + count, 0)
  const STORM = 300
  const storm = Promise.all(Array.from({ length: STORM }, get))
  await until(async () => proxy.connections.reduce((sum, count) => sum + count, 0) - connectionsBefore === STORM, 'every request reached an instance')
  await until(async () => {
    const [rows] = await observer.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS waiting FROM information_schema.processlist WHERE db = ? AND info LIKE 'SELECT%FROM locations%' AND state LIKE 'Waiting%'",
      [env.DATABASE_NAME])
    return Number(rows[0]?.waiting) >= 1
  }, 'the first miss is waiting for MySQL')
  // Time for the requests just accepted to reach Redis and find the entry missing and leased.
  await sleep(300)
  await unlock()
  const answers = await storm
  const after = await Promise.all(instances.map(stormMetricsOf))
  // Per instance, what each of STORM_METRICS grew by during the storm.
  const grew = instances.map((_, index) => STORM_METRICS.map((_, metric) => (after[index]?.[metric] ?? 0) - (before[index]?.[metric] ?? 0)))
  const reads = grew.map(([queries]) => queries ?? 0)
  const total = reads.reduce((sum, count) => sum + count, 0)
  const outcomes = answers.reduce<Record<string, number>>((counts, { body }) => {
    counts[body.redis_cache ?? 'none'] = (counts[body.redis_cache ?? 'none'] ?? 0) + 1
    return counts
  }, {})
  t.comment(`MySQL statements per instance: ${reads.join(', ')} (${total} in all for ${STORM} requests); ` +
    `answers ${JSON.stringify(outcomes)}; connections per instance ${proxy.connections.join(', ')}; ` +
    `meanwhile, keys the invalidation-record sync deleted per instance ${grew.map(([, deleted]) => deleted).join(', ')}, ` +
    `fills refused ${grew.map(([, , refused]) => refused).join(', ')}`)

  t.ok(answers.every(({ status, body }) => status === 200 && body.active === true), `all ${answers.length} answers 200, active=true`)
  reads.forEach((count, index) => t.ok(count <= 1, `instance ${index}: ${count} MySQL statement(s)`))
  t.ok(total >= 1, 'the invalidated entry was read from MySQL')
}

t.test('randomized readers and writers through the proxy: no stale read across three processes', t => readersAndWriters(t, localRedis()))
t.test('a miss storm of 300 concurrent GETs through the proxy reads MySQL at most once per instance', t => missStorm(t, localRedis()))

t.test('on a Redis Cluster', async t => {
  const cluster = await startRedisCluster()
  t.teardown(() => cluster.stop())
  const onCluster = { REDIS_CLUSTER_NODES: cluster.seeds }
  await t.test('randomized readers and writers through the proxy: no stale read across three processes', t => readersAndWriters(t, onCluster))
  await t.test('a miss storm of 300 concurrent GETs through the proxy reads MySQL at most once per instance', t => missStorm(t, onCluster))
  await t.test('rolling restart under load: no request fails, no acknowledged write is lost, no stale read', t => rollingRestart(t, onCluster))
})

async function rollingRestart (t: Test, redisEnv: Record<string, string>): Promise<void> {
  const { proxy, instances, sql } = await deployment(t, redisEnv)
  const WRITERS = 8
  const exits: Exit[] = []
  const answeredAfterRestart: number[] = []
  // One after another: SIGTERM, wait for the exit, start again on the same port, wait until ready.
  const restarts = (async () => {
    await sleep(1000)
    for (const [index, instance] of instances.entries()) {
      exits.push(await instance.restart())
      answeredAfterRestart[index] = proxy.answered[index] ?? 0
      await sleep(500)
    }
    // Load on the three new processes too.
    await sleep(1000)
  })()
  const startedAt = Date.now()
  const result = await runReadersWriters({
    baseUrls: [proxy.url], initial: INITIAL, durationMs: 1000, until: restarts, readers: 24, writers: WRITERS, send: sendOnFreshConnection
  })
  await restarts
  t.comment(`${((Date.now() - startedAt) / 1000).toFixed(1)} s of load; checked ${describe(result)}; ` +
    `connections per instance ${proxy.connections.join(', ')}, refused ${proxy.connectFailures.join(', ')}, ` +
    `replayed ${JSON.stringify(proxy.replays)}`)

  t.same(exits, instances.map(() => ({ code: 0, signal: null })), 'each SIGTERM: a clean exit')
  t.ok(proxy.connectFailures.every(count => count > 0), 'every instance was down while the load ran: the proxy met each restart')
  instances.forEach((_, index) => t.ok((proxy.answered[index] ?? 0) > (answeredAfterRestart[index] ?? 0), `instance ${index} served again after its restart`))
  t.same(proxy.dropped, [], 'the proxy dropped no request')
  checkLoad(t, result, WRITERS)

  // Every acknowledged write is there: the last one of each location is what MySQL holds and what the service answers.
  const expected = Object.fromEntries(result.lastAcknowledged)
  const database = await databaseValues(await sql())
  t.same(Object.fromEntries([...INITIAL.keys()].map(city => [city, database.get(city)])), expected, 'MySQL holds the last acknowledged write of each location')
  const served: Record<string, boolean> = {}
  for (const city of INITIAL.keys()) {
    // Each city through each instance in turn: the proxy hands consecutive requests to consecutive instances.
    for (let turn = 0; turn < instances.length; turn++) {
      const answer = await sendOnFreshConnection('GET', `${proxy.url}/active?country=NI&city=${encodeURIComponent(city)}`)
      t.equal(answer.status, 200)
      const { active } = JSON.parse(answer.body) as { active: boolean }
      if (served[city] !== undefined && served[city] !== active) t.fail(`${city}: the instances disagree`)
      served[city] = active
    }
  }
  t.same(served, expected, 'the service answers the last acknowledged write of each location, through every instance')
}

t.test('rolling restart under load: no request fails, no acknowledged write is lost, no stale read', t => rollingRestart(t, localRedis()))
