import { Agent } from 'node:http'
import { send } from './http-client.ts'
import type { BenchLocation } from './locations.ts'

const PARALLEL = 16

export interface WarmCache {
  /** Locations the service answered 200 for, now cached. */
  readable: BenchLocation[]
  /** Demo locations the service could not read, as "<path>: <status> <body>". */
  unreadable: string[]
}

/** GETs every location once, so each is cached, and checks that each answers 200. */
export async function warmCache (baseUrl: string, locations: BenchLocation[]): Promise<WarmCache> {
  const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL })
  try {
    const answers = await Promise.all(locations.map(location => send(agent, `${baseUrl}${location.path}`)))
    return {
      readable: locations.filter((_, index) => answers[index]?.status === 200),
      unreadable: answers.flatMap((answer, index) => answer.status === 200 ? [] : [`${locations[index]?.path}: ${answer.status} ${answer.body}`])
    }
  } finally {
    agent.destroy()
  }
}
