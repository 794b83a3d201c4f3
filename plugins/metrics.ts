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

/** What a plugin that owns a service registers into: each metric reads the service's own plain counters at scrape time. */
export interface MetricsSink {
  /** What the services report as it happens (MySQL statements, Redis commands), observed into histograms. */
  timings: StatementTimings & RedisTimings
  /** A counter per label value, from a record of running totals. */
  counter (name: string, help: string, label: string, read: () => Readonly<Record<string, number>>): void
  /** An unlabelled counter, from a running total. */
  total (name: string, help: string, read: () => number): void
  gauge (name: string, help: string, read: () => number): void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: MetricsSink
    /** This app's metrics, served by routes/metrics.ts. */
    metricsRegistry: Registry
  }
}

/**
 * The metrics that GET /metrics serves in Prometheus format: request counts and latency histograms
 * by route and status (metrics/request-durations.ts), process metrics (prom-client's defaults), and
 * what the plugins registered below it report of MySQL, its admission gate, Redis and the cache:
 * a sink they register into, which reads nothing of theirs by name. Each app has its own
 * registry, so several instances can live in one process (the tests do).
 */
export default fp(async function metricsPlugin (fastify) {
  const registry = new Registry()

  const histogram = (name: string, help: string, labelNames: string[] = []) =>
    new Histogram({ name, help, labelNames, buckets: DEPENDENCY_BUCKETS, registers: [registry] })
  const queueWait = histogram('nicaventas_mysql_queue_wait_seconds', 'How long statements waited for a pooled connection')
  const statement = histogram('nicaventas_mysql_statement_seconds', 'How long statements held a connection, by kind (read, write)', ['kind'])
  const redisCommand = histogram('nicaventas_redis_command_seconds', 'How long the cache\'s Redis commands took, failures and timeouts included')

  fastify.decorate<MetricsSink>('metrics', {
    timings: {
      queueWait: ms => queueWait.observe(ms / 1000),
      statement: (kind, ms) => statement.observe({ kind }, ms / 1000),
      redisCommand: ms => redisCommand.observe(ms / 1000)
    },
    counter (name, help, label, read) {
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
    },
    total (name, help, read) {
      registry.registerMetric(new Counter({ name, help, registers: [], collect () { this.reset(); this.inc(read()) } }))
    },
    gauge (name, help, read) {
      registry.registerMetric(new Gauge({ name, help, registers: [], collect () { this.set(read()) } }))
    }
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
}, { name: 'metrics' })
