import { request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { AUTH } from '../helper.ts'

/**
 * The randomized readers/writers check: writers flip locations' `active`, readers read them,
 * and every read is held against the writes' history. A read may answer the value of the last
 * write acknowledged before it started (the initial value if none), or of any later write
 * that started before the read ended (it overlaps the read). Anything else is a stale read.
 */

export interface Write {
  value: boolean
  startedAt: number
  /** When the 200 came back; Infinity for a write that failed: it may or may not have happened. */
  ackedAt: number
}

export interface Read {
  city: string
  value: boolean
  startedAt: number
  endedAt: number
}

/**
 * What a read may answer: the value of the last write acknowledged before it
 * started (the initial value if none), or of any later write that started
 * before the read ended.
 */
export function allowedValues (writes: Write[], initial: boolean, read: Read): Set<boolean> {
  let last = -1
  for (const [index, write] of writes.entries()) if (write.ackedAt < read.startedAt) last = index
  const allowed = new Set([last === -1 ? initial : (writes[last] as Write).value])
  for (const write of writes.slice(last + 1)) if (write.startedAt < read.endedAt) allowed.add(write.value)
  return allowed
}

export interface Answer {
  status: number
  body: string
}

/** One HTTP request; a connection that fails rejects. */
export type Send = (method: 'GET' | 'PUT', url: string, body?: string) => Promise<Answer>

const headersFor = (body: string | undefined): Record<string, string> =>
  body === undefined ? {} : { ...AUTH, 'content-type': 'application/json' }

/** fetch, with its global keep-alive pool: for a single server that is not restarted. */
export const sendWithFetch: Send = async (method, url, body) => {
  const response = await fetch(url, { method, headers: headersFor(body), body, signal: AbortSignal.timeout(30_000) })
  return { status: response.status, body: await response.text() }
}

/**
 * One request on a connection of its own (`agent: false`: `connection: close`, no pool), so
 * a round-robin TCP proxy balances each request and no request is ever sent on a kept-alive
 * connection that a closing instance is closing (see round-robin-proxy.ts).
 */
export const sendOnFreshConnection: Send = async (method, url, body) => await new Promise<Answer>((resolve, reject) => {
  const headers = body === undefined ? {} : { ...headersFor(body), 'content-length': String(Buffer.byteLength(body)) }
  const outgoing = request(url, { method, headers, agent: false, timeout: 30_000 }, response => {
    const chunks: Buffer[] = []
    response.on('data', (chunk: Buffer) => chunks.push(chunk))
    response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
    response.on('error', reject)
  })
  outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 30 s')))
  outgoing.on('error', reject)
  outgoing.end(body)
})

export interface LoadOptions {
  /** Where /active is served: each request goes to the next one in turn. */
  baseUrls: string[]
  /** The locations (all in NI) and their `active` before the load. */
  initial: Map<string, boolean>
  durationMs: number
  /** If given, the load also lasts until this settles (a rolling restart, say). */
  until?: Promise<unknown>
  readers: number
  /** Two or more per city: writers of one city take turns, so its writes have one order. */
  writers: number
  send?: Send
}

export interface LoadResult {
  reads: Read[]
  /** Per city, in the order they were made (writers of a city take turns). */
  writes: Map<string, Write[]>
  /** Requests that did not answer 200, or whose connection failed, with what happened. */
  failures: string[]
  /** Reads whose value no write allowed, described. */
  violations: string[]
  /** Reads that had exactly one allowed value: the ones that can catch a stale answer. */
  decisive: number
  /** Writes acknowledged with a 200. */
  acknowledged: number
  /**
   * What the last acknowledged write of each city set (the initial value if none): what the
   * location holds at the end, if no write failed after it.
   */
  lastAcknowledged: Map<string, boolean>
}

/**
 * Runs readers and writers against `baseUrls` and checks every read against the writes.
 * Writers of one location take turns; half the turns end with a pause, so some reads overlap
 * no write and have exactly one right answer, and the other half are followed at once by the
 * next write, which can overtake a reader still filling the cache.
 */
export async function runReadersWriters (options: LoadOptions): Promise<LoadResult> {
  const { baseUrls, initial, readers, writers, send = sendWithFetch } = options
  const cities = [...initial.keys()]
  const writes = new Map<string, Write[]>(cities.map(city => [city, []]))
  const turns = new Map<string, Promise<void>>(cities.map(city => [city, Promise.resolve()]))
  const reads: Read[] = []
  const failures: string[] = []
  let stopped = false
  let requests = 0
  const nextBase = () => baseUrls[requests++ % baseUrls.length] as string
  // The load ends when the duration is over and `until` has settled, however: a rejection is
  // the caller's to see through its own promise, here it only ends the load.
  const done = Promise.allSettled([sleep(options.durationMs), options.until]).then(() => { stopped = true })
  const going = () => !stopped

  async function write (city: string): Promise<void> {
    const history = writes.get(city) as Write[]
    const value = !(history.at(-1)?.value ?? initial.get(city))
    const entry: Write = { value, startedAt: performance.now(), ackedAt: Number.POSITIVE_INFINITY }
    // In the history before it is sent: a failed write may have happened, and stays allowed from then on.
    history.push(entry)
    try {
      const answer = await send('PUT', `${nextBase()}/active`, JSON.stringify({ country: 'NI', city, active: value }))
      if (answer.status === 200) entry.ackedAt = performance.now()
      else failures.push(`PUT ${city} → ${answer.status} ${answer.body.slice(0, 200)}`)
    } catch (error) {
      failures.push(`PUT ${city} → ${(error as Error).message}`)
    }
  }

  async function writer (index: number): Promise<void> {
    const city = cities[index % cities.length] as string
    while (going()) {
      const turn = (turns.get(city) as Promise<void>).then(async () => {
        if (!going()) return
        await write(city)
        if (Math.random() < 0.5) await sleep(30 + Math.random() * 70)
      })
      turns.set(city, turn)
      await turn
    }
  }

  async function reader (): Promise<void> {
    while (going()) {
      const city = cities[Math.floor(Math.random() * cities.length)] as string
      const startedAt = performance.now()
      try {
        const answer = await send('GET', `${nextBase()}/active?country=NI&city=${encodeURIComponent(city)}`)
        const endedAt = performance.now()
        const body = answer.status === 200 ? JSON.parse(answer.body) as { active?: unknown } : {}
        if (answer.status !== 200) failures.push(`GET ${city} → ${answer.status} ${answer.body.slice(0, 200)}`)
        else if (typeof body.active !== 'boolean') failures.push(`GET ${city} → ${answer.body.slice(0, 200)}`)
        else reads.push({ city, value: body.active, startedAt, endedAt })
      } catch (error) {
        failures.push(`GET ${city} → ${(error as Error).message}`)
      }
    }
  }

  await Promise.all([
    ...Array.from({ length: writers }, (_, index) => writer(index)),
    ...Array.from({ length: readers }, () => reader())
  ])
  await done

  const violations: string[] = []
  let decisive = 0
  for (const read of reads) {
    const allowed = allowedValues(writes.get(read.city) as Write[], initial.get(read.city) as boolean, read)
    if (allowed.size === 1) decisive++
    if (!allowed.has(read.value)) violations.push(`${read.city} read ${read.value} at ${read.startedAt.toFixed(1)} ms`)
  }
  const acknowledgedWrites = [...writes.values()].flat().filter(write => write.ackedAt !== Number.POSITIVE_INFINITY)
  const lastAcknowledged = new Map(cities.map(city => {
    const last = (writes.get(city) as Write[]).findLast(write => write.ackedAt !== Number.POSITIVE_INFINITY)
    return [city, last?.value ?? initial.get(city) as boolean]
  }))
  return { reads, writes, failures, violations, decisive, acknowledged: acknowledgedWrites.length, lastAcknowledged }
}

/**
 * runReadersWriters in rounds, each from where the last one left the locations, until the reads
 * with exactly one allowed value reach `decisive` or `maxRounds` have run: a loaded machine makes
 * fewer of them in a round, and a check with too few of them proves little. A round with a failed
 * request ends the load: a write it did not see acknowledged leaves the next round's start unknown.
 */
export async function runUntilDecisive (options: LoadOptions, decisive: number, maxRounds: number): Promise<LoadResult & { rounds: number }> {
  let total = await runReadersWriters(options)
  let rounds = 1
  for (; rounds < maxRounds && total.decisive < decisive && total.failures.length === 0; rounds++) {
    const round = await runReadersWriters({ ...options, initial: total.lastAcknowledged })
    total = {
      reads: [...total.reads, ...round.reads],
      writes: new Map([...total.writes].map(([city, writes]) => [city, [...writes, ...round.writes.get(city) ?? []]])),
      failures: [...total.failures, ...round.failures],
      violations: [...total.violations, ...round.violations],
      decisive: total.decisive + round.decisive,
      acknowledged: total.acknowledged + round.acknowledged,
      lastAcknowledged: round.lastAcknowledged
    }
  }
  return { ...total, rounds }
}
