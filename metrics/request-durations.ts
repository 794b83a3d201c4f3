import { Histogram, type MetricObjectWithValues, type MetricValueWithName } from '@prometheus-io/client'

type LabelName = 'method' | 'route' | 'status_code'

interface Series {
  labels: Record<LabelName, string>
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  counts: Float64Array
  sumSeconds: number
  count: number
}

/** Observations of one route, by method and then status code: two map lookups, no label string built. */
export type RouteSeries = (method: string, statusCode: number, elapsedMs: number) => void

/**
 * `http_request_duration_seconds{method, route, status_code}`, the
 * histogram fastify-metrics served under the same name and labels, at a
 * fraction of its cost per request. fastify-metrics started a timer per
 * request (a closure and an hrtime pair) and prom-client's observe() hashed
 * the label set into a string for every observation: a twelfth of a cache
 * hit's CPU in the profile. Here a route's series are found by two map
 * lookups, the time is the reply's own `elapsedTime`, and the exposition
 * format is built only when /metrics is scraped. A Histogram subclass, so
 * the registry serves it like any other metric.
 */
export class RequestDurations extends Histogram<LabelName> {
  readonly #name: string
  readonly #help: string
  readonly #boundsSeconds: readonly number[]
  readonly #boundsMs: Float64Array
  readonly #series: Series[] = []

  constructor (name: string, help: string, bucketsSeconds: number[]) {
    super({ name, help, labelNames: ['method', 'route', 'status_code'], buckets: bucketsSeconds, registers: [] })
    this.#name = name
    this.#help = help
    this.#boundsSeconds = [...bucketsSeconds]
    this.#boundsMs = Float64Array.from(bucketsSeconds, seconds => seconds * 1000)
  }

  /** The recorder for one route, made once when the route is registered. */
  forRoute (route: string): RouteSeries {
    const byMethod = new Map<string, Map<number, Series>>()
    return (method, statusCode, elapsedMs) => {
      let byStatus = byMethod.get(method)
      if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
      let series = byStatus.get(statusCode)
      if (series === undefined) byStatus.set(statusCode, series = this.#newSeries(method, route, statusCode))
      const bounds = this.#boundsMs
      let bucket = 0
      while (bucket < bounds.length && elapsedMs > (bounds[bucket] as number)) bucket++
      series.counts[bucket] = (series.counts[bucket] as number) + 1
      series.sumSeconds += elapsedMs / 1000
      series.count++
    }
  }

  #newSeries (method: string, route: string, statusCode: number): Series {
    const series = { labels: { method, route, status_code: String(statusCode) }, counts: new Float64Array(this.#boundsMs.length + 1), sumSeconds: 0, count: 0 }
    this.#series.push(series)
    return series
  }

  /**
   * The registry asks a Histogram for this (prom-client's own, unlisted in its types) in preference
   * to get() when it writes the exposition text; both must answer from our series.
   * test/metrics.test.ts fails if a new version of the client asks something else.
   */
  async getForPromString (): Promise<MetricObjectWithValues<MetricValueWithName<LabelName>>> {
    return await this.get()
  }

  override async get (): Promise<MetricObjectWithValues<MetricValueWithName<LabelName>>> {
    const values: Array<MetricValueWithName<LabelName>> = []
    for (const series of this.#series) {
      let cumulative = 0
      this.#boundsSeconds.forEach((bound, index) => {
        cumulative += series.counts[index] as number
        const labels = { le: bound, ...series.labels }
        values.push({ metricName: `${this.#name}_bucket`, labels, value: cumulative })
      })
      const infinity = { le: '+Inf', ...series.labels }
      values.push({ metricName: `${this.#name}_bucket`, labels: infinity, value: series.count })
      values.push({ metricName: `${this.#name}_sum`, labels: series.labels, value: series.sumSeconds })
      values.push({ metricName: `${this.#name}_count`, labels: series.labels, value: series.count })
    }
    // The type lists the metric's collect hook too; the registry reads only what is here.
    return { name: this.#name, help: this.#help, type: 'histogram', aggregator: 'sum', values } as MetricObjectWithValues<MetricValueWithName<LabelName>>
  }
}
