import t from 'tap'
import { AUTH, build } from './helper.ts'
import { sampleIn as sample } from './support/metrics-sample.ts'

t.test('/metrics reports requests by route and status, cache outcomes, fills, invalidations and MySQL queries', async t => {
  const app = await build(t)
  await app.inject({ url: '/active?country=NI&city=Managua' })
  await app.inject({ url: '/active?country=NI&city=Managua' })
  await app.inject({ url: '/active?country=NI&city=Nowhere' })
  // A cache hit, but no request metric, as with fastify-metrics before: HEAD is a GET without its body.
  await app.inject({ method: 'HEAD', url: '/active?country=NI&city=Managua' })
  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active: false } })

  const response = await app.inject({ url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain/)
  const metrics = response.body
  t.equal(sample(metrics, 'nicaventas_cache_reads_total{outcome="hit"}'), 2, 'the second GET and the HEAD')
  t.equal(sample(metrics, 'nicaventas_cache_reads_total{outcome="miss"}'), 2)
  t.equal(sample(metrics, 'nicaventas_cache_reads_total{outcome="bypass"}'), 0)
  t.equal(sample(metrics, 'nicaventas_cache_reads_total{outcome="stale"}'), 0)
  t.equal(sample(metrics, 'nicaventas_cache_fills_total{result="stored"}'), 2, 'Managua and the unknown city')
  t.equal(sample(metrics, 'nicaventas_cache_invalidations_total{result="done"}'), 1)
  t.equal(sample(metrics, 'nicaventas_mysql_queries_total'), 3, 'two reads, then one CALL for the PUT')
  t.equal(sample(metrics, 'http_request_duration_seconds_count{method="GET",route="/active",status_code="200"}'), 2)
  t.equal(sample(metrics, 'http_request_duration_seconds_count{method="GET",route="/active",status_code="404"}'), 1)
  t.equal(sample(metrics, 'http_request_duration_seconds_count{method="PUT",route="/active",status_code="200"}'), 1)
  t.notOk(metrics.includes('method="HEAD"'))
  const get200 = 'method="GET",route="/active",status_code="200"'
  t.equal(sample(metrics, `http_request_duration_seconds_bucket{le="+Inf",${get200}}`), 2)
  t.ok(sample(metrics, `http_request_duration_seconds_bucket{le="2.5",${get200}}`) <= 2)
  const buckets = [...metrics.matchAll(new RegExp(`^http_request_duration_seconds_bucket\\{le="([\\d.]+)",${get200}\\} (\\d+)$`, 'gm'))].map(match => Number(match[2]))
  t.equal(buckets.length, 12, 'one line per bucket')
  t.same(buckets, [...buckets].sort((a, b) => a - b), 'buckets are cumulative')
  t.ok(sample(metrics, `http_request_duration_seconds_sum{${get200}}`) > 0)
  t.match(metrics, /process_resident_memory_bytes \d+/)
})

t.test('/metrics reports the invalidation records the sync applied, and the keys they deleted', async t => {
  const app = await build(t)
  const start = await app.inject({ url: '/metrics' })
  const demoRecords = sample(start.body, 'nicaventas_cache_records_applied_total')
  t.ok(demoRecords > 200, 'the demo data\'s inserts, applied on start')
  t.equal(sample(start.body, 'nicaventas_cache_records_applied_up_to'), demoRecords, 'up to the newest record')

  await app.inject({ url: '/active?country=NI&city=Managua' })
  await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Granada', active: true } })
  await app.recordSync.syncNow()
  const metrics = (await app.inject({ url: '/metrics' })).body
  t.equal(sample(metrics, 'nicaventas_cache_records_applied_total'), demoRecords + 1, 'the PUT\'s record')
  t.equal(sample(metrics, 'nicaventas_cache_records_applied_up_to'), demoRecords + 1)
  t.equal(sample(metrics, 'nicaventas_cache_record_keys_deleted_total'), sample(start.body, 'nicaventas_cache_record_keys_deleted_total'),
    'nothing to delete: the PUT had invalidated already')
})

t.test('two apps in one process keep their own metrics', async t => {
  const first = await build(t)
  const second = await build(t)
  await first.inject({ url: '/active?country=NI&city=Managua' })
  const metrics = (await second.inject({ url: '/metrics' })).body
  t.equal(sample(metrics, 'nicaventas_cache_reads_total{outcome="miss"}'), 0)
})
