import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { locationId } from '../../domain/location.ts'
import { directSql } from './direct-sql.ts'
import { runReadersWriters, sendWithFetch, type LoadResult, type Send } from './stale-read-check.ts'
import { until } from './until.ts'

export interface FailoverRun {
  load: LoadResult
  /** From the first `bypass` the probe saw after the kill to the last one. */
  bypassMs: number
  /** The longest any request of the load or the probe took, start to answer. */
  worstMs: number
  /** The probe's outcomes (redis_cache), counted. */
  outcomes: Record<string, number>
}

// Reads of the killed node's location after the failover that show the cache is back in use.
const SETTLED_PROBES = 50

/**
 * The randomized readers/writers check (stale-read-check.ts) while `failover` kills a Redis
 * node and waits for the topology to heal. A probe reads `probeCity`, whose keys the killed
 * node served, every few milliseconds, to see how long its reads go to MySQL (`bypass`) and
 * when the cache answers again; the load goes on until the probe has seen the cache in use
 * again for a while, so every write made across the failover is checked by later reads.
 */
export async function failoverUnderLoad (baseUrl: string, options: {
  initial: Map<string, boolean>
  probeCity: string
  failover: () => Promise<void>
  readers?: number
  writers?: number
}): Promise<FailoverRun> {
  let worstMs = 0
  const timed: Send = async (method, url, body) => {
    const started = performance.now()
    try {
      return await sendWithFetch(method, url, body)
    } finally {
      worstMs = Math.max(worstMs, performance.now() - started)
    }
  }

  const probes: Array<{ at: number, outcome: string }> = []
  let killedAt = Number.POSITIVE_INFINITY
  const probing = { on: true }
  const probe = (async () => {
    while (probing.on) {
      const answer = await timed('GET', `${baseUrl}/active?country=NI&city=${encodeURIComponent(options.probeCity)}`)
      const outcome = answer.status === 200 ? (JSON.parse(answer.body) as { redis_cache: string }).redis_cache : `status ${answer.status}`
      probes.push({ at: performance.now(), outcome })
      await sleep(5)
    }
  })()

  const sequence = (async () => {
    await sleep(1000)
    killedAt = performance.now()
    await options.failover()
    // Until the cache has answered the probe SETTLED_PROBES times in a row since the kill.
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const since = probes.filter(({ at }) => at > killedAt)
      const tail = since.slice(-SETTLED_PROBES)
      if (tail.length === SETTLED_PROBES && tail.every(({ outcome }) => outcome === 'hit' || outcome === 'miss')) return
      await sleep(50)
    }
    throw new Error('the cache did not answer again within 30 s of the failover')
  })()

  const load = await runReadersWriters({
    baseUrls: [baseUrl],
    initial: options.initial,
    durationMs: 1500,
    until: sequence,
    readers: options.readers ?? 8,
    writers: options.writers ?? 2 * options.initial.size,
    send: timed
  })
  probing.on = false
  await probe
  await sequence

  const bypassed = probes.filter(({ at, outcome }) => at > killedAt && outcome === 'bypass')
  const outcomes: Record<string, number> = {}
  for (const { outcome } of probes) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
  return {
    load,
    bypassMs: bypassed.length === 0 ? 0 : (bypassed.at(-1)?.at ?? 0) - (bypassed[0]?.at ?? 0),
    worstMs,
    outcomes
  }
}

/**
 * What every failover must show: every request answered, no stale read, the dead node's keys
 * read from MySQL meanwhile, no request held for the election, the invalidations owed to the
 * dead node replayed, and each location's last acknowledged write in MySQL and in the answers.
 */
export async function checkFailover (t: Test, app: FastifyInstance, run: FailoverRun): Promise<void> {
  const { load } = run
  t.same(load.failures, [], 'every read and write was answered 200 throughout')
  t.same(load.violations.slice(0, 10), [], 'no read was older than a write acknowledged before it')
  t.ok((run.outcomes.bypass ?? 0) > 0, 'the dead node\'s keys were read from MySQL meanwhile')
  t.ok(run.worstMs < 2000, 'no request waited for the election')
  await until(async () => app.availabilityCache.pendingInvalidations === 0, 'the invalidations owed to the dead node replayed on its successor')

  const sql = await directSql(t, app)
  for (const [city, value] of load.lastAcknowledged) {
    const [[row]] = await sql.query('SELECT active FROM locations WHERE country = ? AND city_key = ?', ['NI', locationId('NI', city).cityKey]) as unknown as [[{ active: number }]]
    t.equal(row.active === 1, value, `${city}: MySQL holds the last acknowledged write`)
    t.equal((await app.inject({ url: `/active?country=NI&city=${encodeURIComponent(city)}` })).json().active, value, `${city}: and the cache answers it`)
  }
}
