import { Counter, Registry } from '@prometheus-io/client'
import fp from 'fastify-plugin'
import fastifyMetrics from 'fastify-metrics'

// Request latencies in seconds: a cache hit answers in well under a millisecond, a MySQL read in a few.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/**
 * GET /metrics in Prometheus format: request counts and latency histograms
 * by route and status (fastify-metrics), process metrics, and what the cache
 * and MySQL did. Each app has its own registry, so several instances can
 * live in one process (the tests do).
 */
export default fp(async function metricsPlugin (fastify) {
  const registry = new Registry()
  const cache = fastify.availabilityCache
  const store = fastify.availabilityStore

  // Read at scrape time from the plain counters the cache and store keep.
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
  counter('nicaventas_cache_reads_total', 'Availability reads by cache outcome (hit, miss, bypass, stale)', 'outcome', () => cache.stats.outcomes)
  counter('nicaventas_cache_fills_total', 'Cache fills after a miss: stored, or refused because a write took the lease', 'result', () => cache.stats.fills)
  counter('nicaventas_cache_invalidations_total', 'Invalidations after writes: done, or failed and queued for retry', 'result', () => cache.stats.invalidations)
  registry.registerMetric(new Counter({
    name: 'nicaventas_mysql_queries_total',
    help: 'Statements sent to MySQL by the availability store',
    registers: [],
    collect () {
      this.reset()
      this.inc(store.queryCount)
    }
  }))

  // fastify-metrics is CommonJS with an ES default export: under NodeNext its plugin is `.default`.
  await fastify.register(fastifyMetrics.default, {
    // Our own route below: it serves this app's registry only, and carries a schema for the docs.
    endpoint: null,
    defaultMetrics: { enabled: true, register: registry },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      overrides: {
        histogram: { buckets: LATENCY_BUCKETS, registers: [registry] },
        summary: { registers: [registry] }
      }
    }
  })

  fastify.get('/metrics', {
    logLevel: 'warn',
    schema: {
      tags: ['service'],
      operationId: 'getMetrics',
      security: [],
      summary: 'Prometheus metrics',
      produces: ['text/plain'],
      response: { 200: { type: 'string', description: 'Prometheus text exposition format' } }
    }
  }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}, { name: 'metrics', dependencies: ['availability'] })
