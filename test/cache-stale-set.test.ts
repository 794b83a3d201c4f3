import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { AUTH, build } from './helper.ts'
import { runUntilDecisive } from './support/stale-read-check.ts'

const get = (city: string) => ({ method: 'GET' as const, url: `/active?country=NI&city=${city}` })
const put = (city: string, active: boolean) => ({ method: 'PUT' as const, url: '/active', headers: AUTH, payload: { country: 'NI', city, active } })

/** A gate for afterDatabaseRead: the first reader to reach it waits there until released. */
function readerGate () {
  let reached!: () => void
  let release!: () => void
  const arrived = new Promise<void>(resolve => { reached = resolve })
  const released = new Promise<void>(resolve => { release = resolve })
  let used = false
  return {
    arrived,
    release,
    async hold (): Promise<void> {
      if (used) return
      used = true
      reached()
      await released
    }
  }
}

t.test('a reader that read MySQL before a write cannot cache what it read', async t => {
  const gate = readerGate()
  const app = await build(t, {}, { afterDatabaseRead: () => gate.hold() })

  const stalled = app.inject(get('Managua'))
  await gate.arrived
  // The reader holds Managua as active and the fill lease; the write commits and invalidates meanwhile.
  const write = await app.inject(put('Managua', false))
  t.equal(write.statusCode, 200)
  gate.release()

  const early = (await stalled).json()
  t.same(early, { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' }, 'the reader that started first answers what it read')
  t.same(app.availabilityCache.stats.fills, { stored: 0, refused: 1 }, 'its fill was refused')
  t.same((await app.inject(get('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.same((await app.inject(get('Managua'))).json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'hit' })
})

t.test('a stalled reader cannot cache a location deleted meanwhile', async t => {
  const gate = readerGate()
  const app = await build(t, {}, { afterDatabaseRead: () => gate.hold() })

  const stalled = app.inject(get('Rivas'))
  await gate.arrived
  t.equal((await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Rivas', headers: AUTH })).statusCode, 204)
  gate.release()

  t.equal((await stalled).statusCode, 200)
  t.equal((await app.inject(get('Rivas'))).statusCode, 404)
})

t.test('randomized: every read that starts after a write is acknowledged sees that write or a newer one', async t => {
  const DURATION_MS = 4000
  const DECISIVE = 100
  const MAX_ROUNDS = 4
  const WRITERS = 8
  const READERS = 32
  const initial = new Map([['Managua', true], ['León', false], ['Granada', false], ['Masaya', false]])

  // Random stalls between MySQL read and fill widen the window in which a write can overtake a reader.
  const app = await build(t, {}, { afterDatabaseRead: () => sleep(Math.random() * 15) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  // Two writers share each location, taking turns (support/stale-read-check.ts); more rounds on a loaded machine.
  const { reads, failures, violations, decisive, acknowledged: writeCount, rounds } = await runUntilDecisive({
    baseUrls: [base], initial, durationMs: DURATION_MS, readers: READERS, writers: WRITERS
  }, DECISIVE, MAX_ROUNDS)
  const { outcomes, fills } = app.availabilityCache.stats
  t.comment(`checked ${reads.length} reads against ${writeCount} acknowledged writes (${reads.length + writeCount} operations) in ${rounds} round(s); ` +
    `${decisive} reads had exactly one allowed value; outcomes ${JSON.stringify(outcomes)}, fills ${JSON.stringify(fills)}`)

  t.same(failures, [], 'every request succeeded')
  t.same(violations.slice(0, 10), [], `no read returned a value older than the last write acknowledged before it started (${violations.length} did)`)
  t.ok(writeCount >= WRITERS * 10, 'the writers wrote')
  t.ok(decisive >= DECISIVE, 'enough reads had a single right answer to catch a stale one')
  t.ok(outcomes.hit > 0 && fills.stored > 0, 'the cache was used, not bypassed')
  t.ok(fills.refused > 0, 'writes overtook filling readers: the race was exercised')
})
