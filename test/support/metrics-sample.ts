import type { FastifyInstance } from 'fastify'

/** One sample of a running app's /metrics, by its name and labels as printed (`name{label="value"}`). */
export async function metricSample (baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
  const line = text.split('\n').find(line => line.startsWith(`${name} `))
  if (line === undefined) throw new Error(`${name} not in /metrics`)
  return Number(line.split(' ')[1])
}

/** The same, read through `inject` from an app in this process. */
export async function appMetricSample (app: FastifyInstance, name: string): Promise<number> {
  const line = (await app.inject({ url: '/metrics' })).body.split('\n').find(line => line.startsWith(`${name} `))
  if (line === undefined) throw new Error(`${name} not in /metrics`)
  return Number(line.split(' ')[1])
}
