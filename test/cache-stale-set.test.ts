import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { AUTH, build } from './helper.ts'

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

interface Write {
  value: boolean
  startedAt: number
  ackedAt: number
}

interface Read {
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
function allowedValues (writes: Write[], initial: boolean, read: Read): Set<boolean> {
  let last = -1
  for (const [index, write] of writes.entries()) if (write.ackedAt < read.startedAt) last = index
  const allowed = new Set([last === -1 ? initial : (writes[last] as Write).value])
  for (const write of writes.slice(last + 1)) if (write.startedAt < read.endedAt) allowed.add(write.value)
  return allowed
}

t.test('randomized: every read that starts after a write is acknowledged sees that write or a newer one', async t => {
  const DURATION_MS = 4000
  const WRITERS = 8
  const READERS = 32
  const cities = ['Managua', 'León', 'Granada', 'Masaya']
  const initial = new Map([['Managua', true], ['León', false], ['Granada', false], ['Masaya', false]])

  // Random stalls between MySQL read and fill widen the window in which a write can overtake a reader.
  const app = await build(t, {}, { afterDatabaseRead: () => sleep(Math.random() * 15) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/active`

  const writes = new Map<string, Write[]>(cities.map(city => [city, []]))
  // Two writers share each location, taking turns, so its writes have one order and "newer" means later in it.
  // Half the turns end with a pause, so some reads overlap no write and have exactly one right answer;
  // the other half are followed at once by the next write, which can overtake a reader still filling.
  const turns = new Map<string, Promise<void>>(cities.map(city => [city, Promise.resolve()]))
  const reads: Read[] = []
  const failures: string[] = []
  const deadline = Date.now() + DURATION_MS

  async function write (city: string): Promise<void> {
    const history = writes.get(city) as Write[]
    const value = !(history.at(-1)?.value ?? initial.get(city))
    const startedAt = performance.now()
    const response = await fetch(base, {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ country: 'NI', city, active: value })
    })
    await response.arrayBuffer()
    if (response.status !== 200) failures.push(`PUT ${city} → ${response.status}`)
    history.push({ value, startedAt, ackedAt: performance.now() })
  }

  async function writer (index: number): Promise<void> {
    const city = cities[index % cities.length] as string
    while (Date.now() < deadline) {
      const turn = (turns.get(city) as Promise<void>).then(async () => {
        await write(city)
        if (Math.random() < 0.5) await sleep(30 + Math.random() * 70)
      })
      turns.set(city, turn)
      await turn
    }
  }

  async function reader (): Promise<void> {
    while (Date.now() < deadline) {
      const city = cities[Math.floor(Math.random() * cities.length)] as string
      const startedAt = performance.now()
      const response = await fetch(`${base}?country=NI&city=${encodeURIComponent(city)}`)
      const body = await response.json() as { active: boolean }
      const endedAt = performance.now()
      if (response.status !== 200) failures.push(`GET ${city} → ${response.status}`)
      else reads.push({ city, value: body.active, startedAt, endedAt })
    }
  }

  await Promise.all([
    ...Array.from({ length: WRITERS }, (_, index) => writer(index)),
    ...Array.from({ length: READERS }, () => reader())
  ])

  const violations: string[] = []
  let decisive = 0
  for (const read of reads) {
    const allowed = allowedValues(writes.get(read.city) as Write[], initial.get(read.city) as boolean, read)
    if (allowed.size === 1) decisive++
    if (!allowed.has(read.value)) violations.push(`${read.city} read ${read.value} at ${read.startedAt.toFixed(1)} ms`)
  }
  const writeCount = [...writes.values()].reduce((sum, history) => sum + history.length, 0)
  const { outcomes, fills } = app.availabilityCache.stats
  t.comment(`checked ${reads.length} reads against ${writeCount} acknowledged writes (${reads.length + writeCount} operations); ` +
    `${decisive} reads had exactly one allowed value; outcomes ${JSON.stringify(outcomes)}, fills ${JSON.stringify(fills)}`)

  t.same(failures, [], 'every request succeeded')
  t.same(violations.slice(0, 10), [], `no read returned a value older than the last write acknowledged before it started (${violations.length} did)`)
  t.ok(writeCount >= WRITERS * 10, 'the writers wrote')
  t.ok(decisive >= 100, 'enough reads had a single right answer to catch a stale one')
  t.ok(outcomes.hit > 0 && fills.stored > 0, 'the cache was used, not bypassed')
  t.ok(fills.refused > 0, 'writes overtook filling readers: the race was exercised')
})
