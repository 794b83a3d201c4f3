import { Agent } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Connection } from 'mysql2/promise'
import { putLocation, send } from './http-client.ts'
import type { BenchLocation } from './locations.ts'
import { counterDelta, readMysqlCounters, type MysqlCounters } from './mysql-counters.ts'
import { ResponseTally } from './response-tally.ts'

export interface StormResult {
  location: string
  requests: number
  durationMs: number
  statuses: Record<string, number>
  cacheOutcomes: Record<string, number>
  /** Server-wide statements while the storm ran: ours, plus whatever else the server was doing. */
  queries: MysqlCounters
  /** The same counters over an equally long idle window right after: the noise in `queries`. */
  idleNoise: MysqlCounters
}

export interface StormOptions {
  baseUrl: string
  token: string
  location: BenchLocation
  requests: number
  mysql: Connection
}

/**
 * Many concurrent GETs for one location just invalidated by a PUT. The
 * connections are opened beforehand (GET /health on each), so the GETs leave
 * together instead of trickling in behind TCP handshakes. The service
 * promises one MySQL read for all of them.
 */
export async function missStorm (options: StormOptions): Promise<StormResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.requests })
  try {
    const connections = Array.from({ length: options.requests }, () => send(agent, `${options.baseUrl}/health`))
    const opened = await Promise.all(connections)
    if (opened.some(answer => answer.status !== 200)) throw new Error('the service did not answer GET /health while opening the storm\'s connections')

    const invalidated = await putLocation(agent, options.baseUrl, options.token, options.location)
    if (invalidated.status !== 200) throw new Error(`PUT ${options.location.path} answered ${invalidated.status}: ${invalidated.body}`)

    const tally = new ResponseTally()
    const before = await readMysqlCounters(options.mysql)
    const startedAt = performance.now()
    const answers = await Promise.all(Array.from({ length: options.requests }, () => send(agent, `${options.baseUrl}${options.location.path}`)))
    const durationMs = performance.now() - startedAt
    const after = await readMysqlCounters(options.mysql)
    for (const answer of answers) tally.record('GET', answer.status, answer.body)

    const idleBefore = await readMysqlCounters(options.mysql)
    await sleep(durationMs)
    const idleAfter = await readMysqlCounters(options.mysql)

    return {
      location: `${options.location.country}/${options.location.city}`,
      requests: options.requests,
      durationMs,
      statuses: tally.statuses,
      cacheOutcomes: tally.cacheOutcomes,
      queries: counterDelta(before, after),
      idleNoise: counterDelta(idleBefore, idleAfter)
    }
  } finally {
    agent.destroy()
  }
}
