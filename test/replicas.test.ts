import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp, type AppOptions } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { AUTH, cleanUp, isolatedEnv } from './helper.ts'

// Several replicas of the service behind a load balancer: instances that share one MySQL
// database and one Redis namespace, each on its own port, spoken to over real HTTP.

t.setTimeout(120_000)

interface Instance {
  app: FastifyInstance
  url: string
}

/** `count` instances with one configuration, started together as replicas would be (they share the migration). */
async function startInstances (t: Test, count: number, options: Omit<AppOptions, 'config'> = {}): Promise<Instance[]> {
  const env = isolatedEnv()
  const config = readConfig(env)
  const apps: FastifyInstance[] = []
  t.teardown(async () => {
    await Promise.all(apps.map(app => app.close()))
    await cleanUp(env)
  })
  return await Promise.all(Array.from({ length: count }, async () => {
    const app = await buildApp({ ...options, config })
    apps.push(app)
    await app.listen({ host: '127.0.0.1', port: 0 })
    return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
  }))
}

async function read (instance: Instance, query = 'country=NI&city=Managua'): Promise<{ status: number, body: { active?: boolean, redis_cache?: string } }> {
  const response = await fetch(`${instance.url}/active?${query}`)
  return { status: response.status, body: await response.json() as { active?: boolean, redis_cache?: string } }
}

async function setActive (instance: Instance, active: boolean, city = 'Managua'): Promise<number> {
  const response = await fetch(`${instance.url}/active`, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ country: 'NI', city, active })
  })
  await response.arrayBuffer()
  return response.status
}

t.test('a write through one instance is read at once through the other, never a stale cached answer', async t => {
  const [a, b] = await startInstances(t, 2) as [Instance, Instance]
  t.equal((await read(a)).body.redis_cache, 'miss', 'a fills the shared cache')
  t.equal((await read(b)).body.redis_cache, 'hit', 'b reads what a cached')

  let active = true
  for (let round = 0; round < 6; round++) {
    const [writer, reader] = round % 2 === 0 ? [a, b] : [b, a]
    // Warm the reader's view first, so a stale entry would be there to be served.
    t.equal((await read(reader)).body.active, active)
    active = !active
    t.equal(await setActive(writer, active), 200, `round ${round}: PUT active=${active}`)
    const seen = await read(reader)
    t.equal(seen.status, 200)
    t.equal(seen.body.active, active, `round ${round}: the other instance answers active=${active} at once`)
  }
})

t.test('a miss storm on both instances reads MySQL at most once per instance', async t => {
  // Each MySQL read is held open a little, so the whole storm arrives while the first read is in flight.
  const instances = await startInstances(t, 2, { afterDatabaseRead: () => sleep(200) })
  const [a, b] = instances as [Instance, Instance]
  t.equal((await read(a)).body.active, true)
  t.equal(await setActive(b, false), 200, 'the write invalidates the cached entry')

  const before = instances.map(({ app }) => app.availabilityStore.queryCount)
  const perInstance = 100
  const answers = await Promise.all(instances.flatMap(instance => Array.from({ length: perInstance }, () => read(instance))))
  const reads = instances.map(({ app }, index) => app.availabilityStore.queryCount - (before[index] ?? 0))

  t.ok(answers.every(({ status, body }) => status === 200 && body.active === false), `${answers.length} answers, all active=false`)
  reads.forEach((count, index) => t.ok(count <= 1, `instance ${index}: ${count} MySQL read(s) for ${perInstance} requests`))
  t.ok(reads.reduce((sum, count) => sum + count, 0) >= 1, 'the invalidated entry was read from MySQL')
  const outcomes = answers.reduce<Record<string, number>>((counts, { body }) => {
    counts[body.redis_cache ?? 'none'] = (counts[body.redis_cache ?? 'none'] ?? 0) + 1
    return counts
  }, {})
  t.comment(`MySQL reads per instance: ${reads.join(', ')}; answers: ${JSON.stringify(outcomes)}`)
  // Requests that shared the one read all report a miss: more than one proves the storm overlapped it.
  t.ok((outcomes.miss ?? 0) > 1, 'the storm arrived while MySQL was being read')
})
