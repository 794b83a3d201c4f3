import { Registry } from '@prometheus-io/client'
import t from 'tap'
import { RequestDurations } from '../metrics/request-durations.ts'

t.test('request durations are served as a Prometheus histogram: cumulative buckets, +Inf, sum and count per series', async t => {
  const durations = new RequestDurations('http_request_duration_seconds', 'request duration in seconds', [0.001, 0.01])
  const registry = new Registry()
  registry.registerMetric(durations)
  const active = durations.forRoute('/active')
  active('GET', 200, 0.4)
  active('GET', 200, 1)
  active('GET', 200, 7)
  active('GET', 200, 5000)
  active('GET', 404, 2)
  durations.forRoute('/health')('GET', 200, 0.2)

  const lines = (await registry.metrics()).split('\n')
  const series = 'method="GET",route="/active",status_code="200"'
  t.same(lines.filter(line => line.includes(series)), [
    `http_request_duration_seconds_bucket{le="0.001",${series}} 2`,
    `http_request_duration_seconds_bucket{le="0.01",${series}} 3`,
    `http_request_duration_seconds_bucket{le="+Inf",${series}} 4`,
    `http_request_duration_seconds_sum{${series}} 5.0084`,
    `http_request_duration_seconds_count{${series}} 4`
  ], 'a bound counts what is at or below it, as Prometheus defines "le"')
  t.ok(lines.includes('http_request_duration_seconds_count{method="GET",route="/active",status_code="404"} 1'))
  t.ok(lines.includes('http_request_duration_seconds_count{method="GET",route="/health",status_code="200"} 1'))
  t.ok(lines.includes('# TYPE http_request_duration_seconds histogram'))
})
