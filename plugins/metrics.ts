import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from '@prometheus-io/client'
import type { onResponseHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { RequestDurations } from '../metrics/request-durations.ts'
import type { RedisTimings } from '../services/cache/redis-health.ts'
import type { StatementTimings } from '../services/database/statement-runner.ts'

// Request latencies in seconds: a cache hit answers in well under a millisecond, a MySQL read in a few.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
// As fastify-metrics did: these methods are not counted.
const UNMEASURED_METHODS = new Set(['HEAD', 'OPTIONS', 'TRACE', 'CONNECT'])
// What a dependency takes, up to the budgets (seconds) a slow MySQL or Redis runs into.
const DEPENDENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16]

declare module 'fastify' {
  interface FastifyInstance {
    /** What the services report as it happens; the plugins below metrics pass it on to them. */
    dependencyTimings: StatementTimings & RedisTimings
    /** This app's metrics, served by routes/metrics.ts. */
    metricsRegistry: Registry
  }
}

/**
 * The metrics that GET /metrics serves in Prometheus format: request counts and latency histograms
 * by route and status (metrics/request-durations.ts), process metrics (prom-client's defaults), and what MySQL,
 * its admission gate, Redis and the cache did. Each app has its own
 * registry, so several instances can live in one process (the tests do).
 * Registered before the data plugins, which report timings through it;
 * the counters and gauges read their services at scrape time.
 */
export default fp(async function metricsPlugin (fastify) {
  const registry = new Registry()

  const histogram = (name: string, help: string, labelNames: string[] = []) =>
    new Histogram({ name, help, labelNames, buckets: DEPENDENCY_BUCKETS, registers: [registry] })
  const queueWait = histogram('nicaventas_mysql_queue_wait_seconds', 'How long statements waited for a pooled connection')
  const statement = histogram('nicaventas_mysql_statement_seconds', 'How long statements held a connection, by kind (read, write)', ['kind'])
  const redisCommand = histogram('nicaventas_redis_command_seconds', 'How long the cache\'s Redis commands took, failures and timeouts included')
  fastify.decorate('dependencyTimings', {
    queueWait: ms => queueWait.observe(ms / 1000),
    statement: (kind, ms) => statement.observe({ kind }, ms / 1000),
    redisCommand: ms => redisCommand.observe(ms / 1000)
  })

  // Read at scrape time from the plain counters the services keep.
  const counter = (name: string, help: string, label: string, read: () => Record<string, number>) =>
    registry.registerMetric(new Counter({
      name,
      help,
      labelNames: [label],
      registers: [],
      collect () {
        this.reset()
        for (const [value, count] of Object.entries(read())) this.inc({ [label]: value }, count)
      }
    }))
  const total = (name: string, help: string, read: () => number) =>
    registry.registerMetric(new Counter({ name, help, registers: [], collect () { this.reset(); this.inc(read()) } }))
  const gauge = (name: string, help: string, read: () => number) =>
    registry.registerMetric(new Gauge({ name, help, registers: [], collect () { this.set(read()) } }))
  const cache = () => fastify.availabilityCache
  const gate = () => fastify.database.gate
  counter('nicaventas_cache_reads_total', 'Availability reads by cache outcome (hit, miss, bypass, stale)', 'outcome', () => cache().stats.outcomes)
  counter('nicaventas_cache_fills_total', 'Cache fills after a miss: stored, or refused because a write took the lease', 'result', () => cache().stats.fills)
  counter('nicaventas_cache_invalidations_total', 'Invalidations after writes: done, or failed and queued for retry', 'result', () => cache().stats.invalidations)
  counter('nicaventas_mysql_requests_shed_total', 'Requests refused before reaching MySQL: wait_estimate (could not be answered within the budget), deadline (the budget ran out in the queue)', 'reason', () => gate().shed)
  gauge('nicaventas_mysql_connections_in_use', 'MySQL connections running a statement (or opening for one)', () => gate().inUse)
  gauge('nicaventas_mysql_requests_waiting', 'Requests waiting for a MySQL connection', () => gate().waiting)
  total('nicaventas_cache_local_hits_total', 'Hits answered by the in-process tier (CACHE_LOCAL_TTL_MS), also counted as outcome="hit" above', () => cache().stats.localHits)
  gauge('nicaventas_cache_local_entries', 'Answers held by the in-process tier', () => cache().localTier?.size ?? 0)
  gauge('nicaventas_cache_local_subscribed', 'Whether the in-process tier is subscribed to invalidations and in use (1), or off or unsubscribed (0)', () => cache().localTier?.subscribed === true ? 1 : 0)
  total('nicaventas_cache_records_applied_total', 'Invalidation records (every change to locations, by whoever) applied to the cache by this instance\'s sync', () => cache().stats.records.applied)
  total('nicaventas_cache_record_keys_deleted_total', 'Redis keys those records deleted: entries older than the change they record', () => cache().stats.records.deleted)
  gauge('nicaventas_cache_records_applied_up_to', 'The newest invalidation record id this instance has applied', () => fastify.recordSync.appliedUpTo)
  gauge('nicaventas_cache_records_awaited', 'Record ids below that one not seen yet (transactions still open, or rolled back), looked for again for 60 s', () => fastify.recordSync.awaited)
  gauge('nicaventas_cache_pending_invalidations', 'Invalidations that could not reach Redis yet and are retried', () => cache().pendingInvalidations)
  total('nicaventas_mysql_queries_total', 'Statements sent to MySQL by the availability store', () => fastify.database.statementCount)
  counter('nicaventas_mysql_writes_rolled_back_total', 'Writes MySQL rolled back for concurrent ones (a deadlock, a lock wait): retried, or gave_up and answered 503', 'outcome', () => {
    const { retried, gaveUp } = fastify.availabilityStore.rolledBackWrites
    return { retried, gave_up: gaveUp }
  })

  collectDefaultMetrics({ register: registry })
  const durations = new RequestDurations('http_request_duration_seconds', 'request duration in seconds', LATENCY_BUCKETS)
  registry.registerMetric(durations)
  // Every route registered after this plugin gets its recorder, with its URL pattern as the label.
  fastify.addHook('onRoute', route => {
    const record = durations.forRoute(route.url)
    const measure: onResponseHookHandler = (request, reply, done) => {
      if (!UNMEASURED_METHODS.has(request.method)) record(request.method, reply.statusCode, reply.elapsedTime)
      done()
    }
    route.onResponse = [...[route.onResponse ?? []].flat(), measure]
  })

  fastify.decorate('metricsRegistry', registry)
}, { name: 'metrics', dependencies: ['config'] })
