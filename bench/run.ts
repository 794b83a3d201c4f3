import { randomBytes } from 'node:crypto'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import type autocannon from 'autocannon'
import type { Redis } from 'ioredis'
import type { Connection, RowDataPacket } from 'mysql2/promise'
import { stopAllChildren, stopChild } from './children.ts'
import { connectToMysql, connectToRedis, dropBenchData } from './infrastructure.ts'
import { measureLoad } from './load.ts'
import { localServerPids } from './local-servers.ts'
import { benchLocations, type BenchLocation } from './locations.ts'
import { missStorm, type StormResult } from './miss-storm.ts'
import { measureFanOut, type FanOutResult } from './fan-out.ts'
import { readBenchOptions } from './options.ts'
import { measurePointSelects } from './point-selects.ts'
import { peakRssMb } from './process-stats.ts'
import { formatReport, requestsPerCpuSecond, writeReport, type BenchReport, type RatioSummary, type ScenarioRun } from './report.ts'
import { invalidatingGets, mixedRequests, rotatingGets } from './requests.ts'
import { ResponseTally, share } from './response-tally.ts'
import { median } from './statistics.ts'
import { PRODUCTION_NODE_FLAGS, startAnchor, startBaseline, startShell, startService, startStatementServer, MANAGUA_PATH, type Target } from './targets.ts'
import { warmCache } from './warm-cache.ts'
import { measureWithWrk, wrkAvailable } from './wrk.ts'

const DATABASE_NAME = 'nicaventas_bench'
const NAMESPACE = 'nicaventas_bench'
const LOCAL_DATABASE_NAME = 'nicaventas_bench_local'
const LOCAL_NAMESPACE = 'nicaventas_bench_local'
const FAN_OUT_DATABASE_NAME = 'nicaventas_bench_fan_out'
const FAN_OUT_NAMESPACE = 'nicaventas_bench_fan_out'
const RESULTS_DIRECTORY = join(import.meta.dirname, '..', 'bench-results')
/** Below this, the miss scenario is not measuring misses (e.g. the service's key layout changed). */
const MIN_MISS_RATIO = 0.9
const STORMS = 3
// What the service should cost, as ratios to references measured in the same run: a cache hit about
// what one Redis round trip costs in Fastify (the anchor), a local-tier hit about what no I/O at all
// costs (the bare route), memory about the anchor's, a miss half of what MariaDB itself serves.
const HIT_OVER_ANCHOR = 0.95
const LOCAL_OVER_BASELINE = 0.9
const LOCAL_P99_MS = 5
const RSS_OVER_ANCHOR = 1.1
const MISS_OVER_POINT_SELECTS = 0.5
/** The second service instance's local tier: long enough that every request of a round is a local hit but the first. */
const LOCAL_TIER_ENV = { CACHE_LOCAL_TTL_MS: '1000' }
/** The service's default pool, which the point-select comparison uses too. */
const POOL_SIZE = 10

// A baseline server below this share of a core was held back by the generator, not at its ceiling.
const CEILING_CPU_PERCENT = 90

const options = readBenchOptions(process.argv.slice(2))
const useWrk = wrkAvailable()
const startedAt = new Date().toISOString()
const failures: string[] = []
/** Baseline rounds whose server the generator could not drive to a full core. */
const notAtCeiling: string[] = []
/** Local Redis and MariaDB processes, whose CPU share each measured run reports. */
const localServers: Record<string, number> = {}

let cleaning: Promise<void> | undefined
/** Stops every child and removes the bench's database and keys; safe to call from any exit path, once. */
async function cleanUp (): Promise<void> {
  cleaning ??= (async () => {
    await stopAllChildren()
    for (const [database, namespace] of [[DATABASE_NAME, NAMESPACE], [LOCAL_DATABASE_NAME, LOCAL_NAMESPACE], [FAN_OUT_DATABASE_NAME, FAN_OUT_NAMESPACE]] as const) {
      await dropBenchData(database, namespace)
        .catch((error: Error) => console.error(`could not drop ${database} / ${namespace}:* : ${error.message}`))
    }
  })()
  await cleaning
}

function abort (reason: string): void {
  console.error(`\nBENCH ABORTED: ${reason}; stopping the servers and cleaning up`)
  cleanUp().finally(() => process.exit(1))
}
process.once('SIGINT', () => abort('interrupted (SIGINT)'))
process.once('SIGTERM', () => abort('terminated (SIGTERM)'))

// Everything is bounded: twice the planned time plus start-up, then we stop whatever is hanging.
const plannedSeconds = options.rounds * 5 * options.duration + 4 * options.duration + 8 * options.warmup + STORMS * 5
setTimeout(() => abort(`still running after ${2 * plannedSeconds + 120} s (planned about ${plannedSeconds} s of load)`), (2 * plannedSeconds + 120) * 1000).unref()

type RequestsFor = (tally: ResponseTally) => autocannon.Request[]

async function warmUp (target: Target, requestsFor: RequestsFor): Promise<void> {
  await measureLoad({
    url: target.baseUrl,
    connections: options.connections,
    durationSeconds: options.warmup,
    requests: requestsFor(new ResponseTally()),
    serverPid: target.child.pid,
    neighbourPids: {}
  })
}

/** One measured run; unexpected answers or connection errors are recorded as failures. */
async function measure (scenario: ScenarioRun['scenario'], target: Target, requestsFor: RequestsFor, expected: string[], round?: number): Promise<ScenarioRun> {
  const tally = new ResponseTally()
  const measurement = await measureLoad({
    url: target.baseUrl,
    connections: options.connections,
    durationSeconds: options.duration,
    requests: requestsFor(tally),
    serverPid: target.child.pid,
    neighbourPids: localServers
  })
  const label = round === undefined ? scenario : `${scenario} #${round}`
  if (measurement.errors > 0) failures.push(`${label}: ${measurement.errors} connection errors (${measurement.timeouts} timeouts)`)
  const unexpected = tally.unexpected(expected)
  if (unexpected.length > 0) failures.push(`${label}: unexpected answers ${unexpected.join(', ')} (expected only ${expected.join(', ')})`)
  console.error(`  ${label}: ${measurement.requestsPerSecond.toFixed(0)} req/s, p99 ${measurement.latencyP99Ms.toFixed(2)} ms`)
  return { scenario, round, ...measurement, statuses: tally.statuses, cacheOutcomes: tally.cacheOutcomes }
}

/** The service's cache outcomes so far, from its /metrics: how a wrk run, which reads no body, learns what it got. */
async function cacheOutcomes (target: Target): Promise<Record<string, number>> {
  const text = await (await fetch(`${target.baseUrl}/metrics`)).text()
  const outcomes = Object.fromEntries([...text.matchAll(/^nicaventas_cache_reads_total\{outcome="(\w+)"\} (\d+)$/gm)].map(([, outcome, count]) => [outcome, Number(count)]))
  return { ...outcomes, local: Number(/^nicaventas_cache_local_hits_total (\d+)$/m.exec(text)?.[1] ?? 0) }
}

type WrkScenario = 'baseline' | 'shell' | 'anchor' | 'hit' | 'local'
const isService = (scenario: WrkScenario) => scenario === 'hit' || scenario === 'local'

/** One wrk run of GET /active for Managua; for the service, its cache outcomes over the run from /metrics. */
async function measureWithWrkRun (scenario: WrkScenario, target: Target, durationSeconds: number, round?: number): Promise<ScenarioRun> {
  const before = isService(scenario) ? await cacheOutcomes(target) : {}
  const measurement = await measureWithWrk({
    url: `${target.baseUrl}${MANAGUA_PATH}`, connections: options.connections, durationSeconds, serverPid: target.child.pid, neighbourPids: localServers
  })
  const after = isService(scenario) ? await cacheOutcomes(target) : {}
  const outcomes: Record<string, number> = Object.fromEntries(Object.entries(after).map(([outcome, count]) => [outcome, count - (before[outcome] ?? 0)]).filter(([, count]) => count !== 0))
  // The local tier's hits are hits too: shown apart, so the column says which tier answered.
  const localHits = (after.local ?? 0) - (before.local ?? 0)
  if (localHits > 0) {
    outcomes.hit = (outcomes.hit ?? 0) - localHits
    outcomes['hit, local tier'] = localHits
    delete outcomes.local
    if (outcomes.hit === 0) delete outcomes.hit
  }
  const statuses: Record<string, number> = { 'GET 200': measurement.requests - measurement.non2xx }
  if (measurement.non2xx > 0) statuses['GET non-2xx'] = measurement.non2xx
  return { scenario, round, ...measurement, statuses, cacheOutcomes: outcomes }
}

/** A measured wrk run: failures recorded, and a baseline short of its ceiling flagged. */
async function measureWrk (scenario: WrkScenario, target: Target, round: number): Promise<ScenarioRun> {
  const run = await measureWithWrkRun(scenario, target, options.duration, round)
  const label = `${scenario} #${round}`
  if (run.errors > 0 || run.non2xx > 0) failures.push(`${label}: ${run.errors} connection errors, ${run.non2xx} non-2xx answers`)
  if (scenario === 'hit' && share(run.cacheOutcomes, 'hit') < 1) failures.push(`${label}: not every answer was a hit (${JSON.stringify(run.cacheOutcomes)})`)
  if (scenario === 'local' && share(run.cacheOutcomes, 'hit, local tier') + share(run.cacheOutcomes, 'hit') < 1) failures.push(`${label}: not every answer was a hit (${JSON.stringify(run.cacheOutcomes)})`)
  if (scenario === 'baseline' && run.serverCpuPercent < CEILING_CPU_PERCENT) {
    notAtCeiling.push(`${label}: the bare server used ${run.serverCpuPercent.toFixed(0)}% of a core (generator ${run.generatorCpuPercent.toFixed(0)}%): not at its ceiling, so compare requests per server CPU-second`)
  }
  console.error(`  ${label}: ${run.requestsPerSecond.toFixed(0)} req/s, p99 ${run.latencyP99Ms.toFixed(2)} ms, server CPU ${run.serverCpuPercent.toFixed(0)}%, wrk CPU ${run.generatorCpuPercent.toFixed(0)}%`)
  return run
}

/** The servers the hit and the local tier are measured against, in the same rounds. */
interface References { baseline: Target, shell: Target, anchor: Target }

/** Baseline, shell, anchor, hit and local take turns, starting one later each round, so drift on a noisy machine hits all alike. */
async function alternateBaselineAndHit ({ baseline, shell, anchor }: References, service: Target, local: Target, locations: BenchLocation[]): Promise<ScenarioRun[]> {
  const gets: RequestsFor = tally => rotatingGets(locations, tally)
  console.error(`warming up the bare server and the hit path (${options.warmup} s each, ${useWrk ? 'wrk' : 'autocannon'})`)
  if (useWrk) {
    await measureWithWrkRun('baseline', baseline, options.warmup)
    await measureWithWrkRun('shell', shell, options.warmup)
    await measureWithWrkRun('anchor', anchor, options.warmup)
    await measureWithWrkRun('hit', service, options.warmup)
    await measureWithWrkRun('local', local, options.warmup)
  } else {
    await warmUp(baseline, gets)
    await warmUp(shell, gets)
    await warmUp(anchor, gets)
    await warmUp(service, gets)
    await warmUp(local, gets)
  }
  const runs: ScenarioRun[] = []
  for (let round = 1; round <= options.rounds; round++) {
    const turns = useWrk
      ? [() => measureWrk('baseline', baseline, round), () => measureWrk('shell', shell, round), () => measureWrk('anchor', anchor, round), () => measureWrk('hit', service, round), () => measureWrk('local', local, round)]
      : [() => measure('baseline', baseline, gets, ['GET 200'], round), () => measure('shell', shell, gets, ['GET 200'], round), () => measure('anchor', anchor, gets, ['GET 200'], round), () => measure('hit', service, gets, ['GET 200'], round), () => measure('local', local, gets, ['GET 200'], round)]
    const shift = (round - 1) % turns.length
    for (const run of [...turns.slice(shift), ...turns.slice(0, shift)]) runs.push(await run())
  }
  return runs
}

function ratioSummary (runs: ScenarioRun[], scenario: 'shell' | 'hit' | 'local', rate: (run: ScenarioRun) => number, reference: 'baseline' | 'shell' | 'anchor' = 'baseline'): RatioSummary {
  const perRound = Array.from({ length: options.rounds }, (_, index) => {
    const roundRate = (scenario: string) => {
      const run = runs.find(candidate => candidate.scenario === scenario && candidate.round === index + 1)
      return run === undefined ? Number.NaN : rate(run)
    }
    return roundRate(scenario) / roundRate(reference)
  })
  return { perRound, median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound) }
}

async function measureMisses (service: Target, locations: BenchLocation[], redis: Redis): Promise<ScenarioRun> {
  const redisErrors: string[] = []
  const requestsFor: RequestsFor = tally => invalidatingGets(locations, tally, redis, error => redisErrors.push(error.message))
  console.error(`miss: warming up (${options.warmup} s), then measuring`)
  await warmUp(service, requestsFor)
  const run = await measure('miss', service, requestsFor, ['GET 200'])
  if (redisErrors.length > 0) failures.push(`miss: the bench could not delete keys ${redisErrors.length} times (${redisErrors[0]})`)
  const missRatio = share(run.cacheOutcomes, 'miss')
  if (missRatio < MIN_MISS_RATIO) {
    failures.push(`miss: only ${(100 * missRatio).toFixed(1)}% of answers were misses; has the cache key layout in bench/locations.ts drifted from services/availability/location-keys.ts?`)
  }
  return run
}

/** Bare Fastify plus one point select per request, under the miss scenario's own requests (the bench's deletes included, so its generator works alike). */
async function measureStatementServer (locations: BenchLocation[], redis: Redis): Promise<ScenarioRun> {
  const server = await startStatementServer(DATABASE_NAME, POOL_SIZE)
  try {
    const requestsFor: RequestsFor = tally => invalidatingGets(locations, tally, redis, () => {})
    console.error(`statement: warming up (${options.warmup} s), then measuring`)
    await warmUp(server, requestsFor)
    return await measure('statement', server, requestsFor, ['GET 200'])
  } finally {
    await stopChild(server.child)
  }
}

async function measureMixed (service: Target, locations: BenchLocation[], token: string): Promise<ScenarioRun> {
  const requestsFor: RequestsFor = tally => mixedRequests(locations, tally, token)
  console.error(`mixed: warming up (${options.warmup} s), then measuring`)
  await warmUp(service, requestsFor)
  return await measure('mixed', service, requestsFor, ['GET 200', 'PUT 200'])
}

async function measureStorms (service: Target, locations: BenchLocation[], token: string, mysql: Connection): Promise<StormResult[]> {
  const storms: StormResult[] = []
  // Spread over the list so each storm hits a different location, one not touched just before.
  for (let index = 0; index < STORMS; index++) {
    const location = locations[Math.floor((index + 0.5) * locations.length / STORMS)] as BenchLocation
    const storm = await missStorm({ baseUrl: service.baseUrl, token, location, requests: options.stormRequests, mysql })
    console.error(`  storm on ${storm.location}: Com_select +${storm.queries.Com_select} (idle noise +${storm.idleNoise.Com_select})`)
    const unexpected = Object.entries(storm.statuses).filter(([key]) => key !== 'GET 200')
    if (unexpected.length > 0) failures.push(`miss storm on ${storm.location}: unexpected answers ${unexpected.map(([key, count]) => `${count} × ${key}`).join(', ')}`)
    storms.push(storm)
  }
  return storms
}

/** A third instance of its own, so its thousands of streams weigh on no other scenario. */
async function measureChangeFanOut (token: string): Promise<FanOutResult> {
  const subscribers = options.fanOutSubscribers
  console.error(`fan-out: ${subscribers} change streams on one instance, one write`)
  const service = await startService({
    databaseName: FAN_OUT_DATABASE_NAME, namespace: FAN_OUT_NAMESPACE, token, env: { CHANGE_STREAM_MAX_SUBSCRIBERS: String(subscribers), CHANGE_STREAM_MAX_PER_CLIENT: String(subscribers) }
  })
  const result = await measureFanOut(service, subscribers, token)
  console.error(`  every subscriber had the change: p50 ${result.delayMs.p50.toFixed(1)} ms, p99 ${result.delayMs.p99.toFixed(1)} ms, max ${result.delayMs.max.toFixed(1)} ms after the PUT was sent (acknowledged after ${result.acknowledgedMs.toFixed(1)} ms); ${result.rssPerSubscriberKb.toFixed(1)} KB of RSS per subscriber`)
  return result
}

async function machine (mysql: Connection, redis: Redis): Promise<BenchReport['machine']> {
  const [[version]] = await mysql.query<RowDataPacket[]>('SELECT VERSION() AS version')
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown'
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    mariadb: String(version?.version),
    redis: redisVersion
  }
}

interface Ratios { hit: RatioSummary, hitAnchor: RatioSummary, hitCpu: RatioSummary, local: RatioSummary }

interface Peaks { serviceMb: number, anchorMb: number }

function targetsMet (runs: ScenarioRun[], ratios: Ratios, peaks: Peaks, missOverPointSelects: number): BenchReport['targets'] {
  const worstLocalP99 = Math.max(...runs.filter(run => run.scenario === 'local').map(run => run.latencyP99Ms))
  const medianP99 = (scenario: string) => median(runs.filter(run => run.scenario === scenario).map(run => run.latencyP99Ms))
  const [hitP99, anchorP99] = [medianP99('hit'), medianP99('anchor')]
  const summary = (ratio: RatioSummary) => `median ${ratio.median.toFixed(3)} (${ratio.min.toFixed(3)}–${ratio.max.toFixed(3)})`
  const at64 = options.connections === 64
  return [
    { target: `cache hit >= ${HIT_OVER_ANCHOR} x the anchor (bare Fastify + one Redis GET) by req/s`, measured: summary(ratios.hitAnchor), met: ratios.hitAnchor.median >= HIT_OVER_ANCHOR },
    { target: 'cache hit p99 <= the anchor\'s, at 64 connections', measured: `median of rounds: hit ${hitP99.toFixed(2)} ms, anchor ${anchorP99.toFixed(2)} ms at ${options.connections} connections`, met: hitP99 <= anchorP99 && at64 },
    { target: `local tier >= ${LOCAL_OVER_BASELINE} x bare Fastify by req/s`, measured: summary(ratios.local), met: ratios.local.median >= LOCAL_OVER_BASELINE },
    { target: `local tier p99 < ${LOCAL_P99_MS} ms at 64 connections`, measured: `worst round ${worstLocalP99.toFixed(2)} ms at ${options.connections} connections`, met: worstLocalP99 < LOCAL_P99_MS && at64 },
    { target: `service peak RSS <= ${RSS_OVER_ANCHOR} x the anchor's`, measured: `${peaks.serviceMb.toFixed(1)} MB against ${peaks.anchorMb.toFixed(1)} MB: ${(peaks.serviceMb / peaks.anchorMb).toFixed(2)}`, met: peaks.serviceMb <= RSS_OVER_ANCHOR * peaks.anchorMb },
    { target: `miss path >= ${MISS_OVER_POINT_SELECTS} x MariaDB's own point-select rate (same statement, same pool)`, measured: missOverPointSelects.toFixed(2), met: missOverPointSelects >= MISS_OVER_POINT_SELECTS }
  ]
}

function notes (): string[] {
  return [
    useWrk
      ? `baseline, shell, anchor, hit and local: wrk (one thread, ${options.connections} connections, GET ${MANAGUA_PATH}, no per-response script) shares the machine's ${cpus().length} cores with the server: "bench CPU" is wrk's share; miss, statement and mixed: autocannon in this process, which does per-response work (tallies, cache deletes), so "bench CPU" there is this process`
      : `one load generator (autocannon, in this process) shares the machine's ${cpus().length} cores with the server under load: "bench CPU" is its share, and every req/s here is "server + generator on the same cores"; install wrk (apt-get install wrk) for baseline and hit rounds whose generator is not the bottleneck`,
    ...notAtCeiling,
    options.baselineLog === 'off'
      ? 'the bare server logs nothing: it is the ceiling for any Fastify route, so the ratio charges whatever our service logs per request to our route; --baseline-log info shows the ratio without that cost'
      : 'the bare server logs at info like the service (two request lines each): the ratio leaves out the cost of request logging',
    'the service runs as in production (node dist/server.js, NODE_ENV=production, LOG_LEVEL=info) with its stdout sent to /dev/null: log writes are paid, a log collector reading them is not',
    useWrk
      ? 'p50/p99: wrk\'s latency histogram (the alternating rounds) or every response\'s latency (autocannon); req/s: requests over the run\'s duration (wrk) or autocannon\'s mean of per-second counts'
      : 'p50/p99 are from every response\'s latency at full resolution; req/s is autocannon\'s mean of per-second counts',
    `the service runs with the heap sizing of npm run start:dist and the image (${PRODUCTION_NODE_FLAGS.join(' ')}), and so does the shell; the bare server, the anchor and the statement server run with Node's defaults, as a bare Fastify would`,
    'shell: the service\'s shell without its data (bench/shell-server.ts), the server and plugins every request passes through (request log, ids, validation, security headers, close, admission, metrics) and GET /active\'s schema and answer, answering a constant, started as the service is: against the bare server, what those features cost in Fastify; the local tier against it, what our own lookup costs',
    `local tier: a second service instance with CACHE_LOCAL_TTL_MS=${LOCAL_TIER_ENV.CACHE_LOCAL_TTL_MS} and its own database and namespace; its answers are still redis_cache "hit", and /metrics tells which came from memory`,
    `miss path: MariaDB's rate is the service's own point select by the text protocol, from this process through a pool of ${POOL_SIZE} kept busy by ${POOL_SIZE * 4} callers, over the same locations`,
    'statement: bare Fastify plus one point select per request (the statement of MariaDB\'s rate) through a mysql2 pool of the same size, no cache (bench/statement-server.ts), under the miss scenario\'s requests and deletes: against MariaDB\'s rate, what an HTTP request with one statement costs here; the miss against it, what the lease protocol and the per-request features add, less what shared statements save',
    'miss: the bench deletes a location\'s cache keys as its answer arrives (the service filled them before answering), and the same location comes back a lap of the location list later',
    'mixed: each connection sends 19 GETs then one authenticated PUT writing the location\'s current value (5% writes, each invalidating its key)',
    'miss storm: MySQL counters are server-wide (SHOW GLOBAL STATUS), so anything else using this MariaDB adds to them; the idle window measures that noise'
  ]
}

async function main (): Promise<number> {
  console.error(`bench: ${options.rounds} rounds of baseline/shell/anchor/hit/local tier, ${options.duration} s each at ${options.connections} connections, then miss, mixed and ${STORMS} miss storms`)
  await dropBenchData(DATABASE_NAME, NAMESPACE)
  await dropBenchData(LOCAL_DATABASE_NAME, LOCAL_NAMESPACE)
  await dropBenchData(FAN_OUT_DATABASE_NAME, FAN_OUT_NAMESPACE)
  const token = randomBytes(24).toString('base64url')
  const mysql = await connectToMysql()
  const redis = connectToRedis()
  try {
    Object.assign(localServers, await localServerPids(mysql, redis))
    const [service, local, baseline, shell, anchor] = await Promise.all([
      startService({ databaseName: DATABASE_NAME, namespace: NAMESPACE, token }),
      startService({ databaseName: LOCAL_DATABASE_NAME, namespace: LOCAL_NAMESPACE, token, env: LOCAL_TIER_ENV }),
      startBaseline(options.baselineLog),
      startShell(),
      startAnchor(NAMESPACE)
    ])
    await warmCache(local.baseUrl, benchLocations(LOCAL_NAMESPACE))
    const warm = await warmCache(service.baseUrl, benchLocations(NAMESPACE))
    if (warm.unreadable.length > 0) failures.push(`the service cannot read ${warm.unreadable.length} demo locations (left out of the scenarios): ${warm.unreadable.join('; ')}`)
    const locations = warm.readable
    console.error(`service ready with ${locations.length} demo locations cached`)

    const runs = await alternateBaselineAndHit({ baseline, shell, anchor }, service, local, locations)
    const misses = await measureMisses(service, locations, redis)
    runs.push(misses)
    const statement = await measureStatementServer(locations, redis)
    runs.push(statement)
    console.error(`MariaDB's own rate for a miss's statement: ${options.duration} s of point selects, a pool of ${POOL_SIZE}`)
    const pointSelects = await measurePointSelects(DATABASE_NAME, locations, POOL_SIZE, options.duration)
    runs.push(await measureMixed(service, locations, token))
    console.error(`miss storms: ${options.stormRequests} concurrent GETs each`)
    const storms = await measureStorms(service, locations, token, mysql)
    const fanOut = await measureChangeFanOut(token)

    const ratios: Ratios = {
      hit: ratioSummary(runs, 'hit', run => run.requestsPerSecond),
      hitAnchor: ratioSummary(runs, 'hit', run => run.requestsPerSecond, 'anchor'),
      hitCpu: ratioSummary(runs, 'hit', requestsPerCpuSecond),
      local: ratioSummary(runs, 'local', run => run.requestsPerSecond)
    }
    const servicePeakRss = Math.max(peakRssMb(service.child.pid), peakRssMb(local.child.pid))
    const peaks: Peaks = { serviceMb: servicePeakRss, anchorMb: peakRssMb(anchor.child.pid) }
    const report: BenchReport = {
      startedAt,
      machine: await machine(mysql, redis),
      options: { ...options },
      notes: notes(),
      runs,
      hitBaselineRatio: ratios.hit,
      hitAnchorRatio: ratios.hitAnchor,
      hitBaselineCpuRatio: ratios.hitCpu,
      localBaselineRatio: ratios.local,
      localBaselineCpuRatio: ratioSummary(runs, 'local', requestsPerCpuSecond),
      shellBaselineCpuRatio: ratioSummary(runs, 'shell', requestsPerCpuSecond),
      localShellCpuRatio: ratioSummary(runs, 'local', requestsPerCpuSecond, 'shell'),
      missPath: { missRequestsPerSecond: misses.requestsPerSecond, statementRequestsPerSecond: statement.requestsPerSecond, statementRequestsPerCpuSecond: requestsPerCpuSecond(statement), missRequestsPerCpuSecond: requestsPerCpuSecond(misses), pointSelectsPerSecond: pointSelects.queriesPerSecond, poolSize: POOL_SIZE },
      storms,
      fanOut,
      servicePeakRssMb: servicePeakRss,
      baselinePeakRssMb: peakRssMb(baseline.child.pid),
      anchorPeakRssMb: peaks.anchorMb,
      targets: targetsMet(runs, ratios, peaks, misses.requestsPerSecond / pointSelects.queriesPerSecond),
      failures
    }
    console.log(`\n${formatReport(report)}`)
    console.log(`\nJSON: ${await writeReport(report, RESULTS_DIRECTORY)}`)
  } finally {
    await mysql.end()
    await redis.quit()
    await cleanUp()
  }
  if (failures.length === 0) return 0
  console.error(`\nBENCH FAILED: ${failures.length} problem(s); the numbers above may not mean what they say:`)
  for (const failure of failures) console.error(`  ✗ ${failure}`)
  return 1
}

main().then(code => process.exit(code), async (error: Error) => {
  console.error(`\nBENCH FAILED: ${error.stack ?? error.message}`)
  await cleanUp()
  process.exit(1)
})
