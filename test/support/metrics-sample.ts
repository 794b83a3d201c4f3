import type { FastifyInstance } from 'fastify'

/** One sample of a /metrics text, by its name and labels as printed (`name{label="value"}`). */
export function sampleIn (metrics: string, name: string): number {
  const line = metrics.split('\n').find(line => line.startsWith(`${name} `))
  if (line === undefined) throw new Error(`${name} not in /metrics`)
  return Number(line.split(' ')[1])
}

/** One sample of a running app's /metrics, over HTTP. */
export async function metricSample (baseUrl: string, name: string): Promise<number> {
  return sampleIn(await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(), name)
}

/** The same, read through `inject` from an app in this process. */
export async function appMetricSample (app: FastifyInstance, name: string): Promise<number> {
  return sampleIn((await app.inject({ url: '/metrics' })).body, name)
}
