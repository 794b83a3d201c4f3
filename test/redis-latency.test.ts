import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { cleanUp, isolatedEnv } from './helper.ts'
import { metricSample } from './support/metrics-sample.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { timedClient } from './support/timed-client.ts'

const ROOT = join(import.meta.dirname, '..')
const REDIS_TIMEOUT_MS = 250

const count = (text: string, pattern: RegExp) => text.split('\n').filter(line => pattern.test(line)).length

t.test('Redis 400 ms slower: reads bypass to MySQL within the Redis timeout, writes are acknowledged and replayed, one log line per episode', async t => {
  const proxy = await startTcpProxy(Number(process.env.REDIS_PORT ?? 6379))
  t.teardown(() => proxy.close())
  const port = await freePort()
  const env = isolatedEnv({
    PORT: String(port), HOST: '127.0.0.1', REDIS_PORT: String(proxy.port), REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS), LOG_LEVEL: 'info'
  })
  t.teardown(() => cleanUp({ ...env, REDIS_PORT: process.env.REDIS_PORT ?? '6379' }))
  const server = spawnServer([process.execPath, 'server.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } })
  t.teardown(() => server.stop())
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(server, `${base}/ready`)
  const client = timedClient(base)
  await client.get('NI', 'Managua')
  t.equal((await client.get('NI', 'Managua')).body?.redis_cache, 'hit')

  proxy.delay(400)
  const reads = []
  for (let index = 0; index < 20; index++) reads.push(await client.get('NI', 'Managua'))
  const writes = []
  for (let index = 0; index < 5; index++) writes.push(await client.put('NI', 'Managua', false))
  const readBack = await client.get('NI', 'Managua')
  const pending = await metricSample(base, 'nicaventas_cache_pending_invalidations')
  t.comment(`Redis +400 ms: worst read ${Math.max(...reads.map(read => read.ms)).toFixed(0)} ms, worst write ${Math.max(...writes.map(write => write.ms)).toFixed(0)} ms, ${pending} pending invalidation(s)`)
  t.same(new Set(reads.map(read => `${read.status} ${read.body?.redis_cache}`)), new Set(['200 bypass']), 'reads answer from MySQL')
  t.ok(reads.every(read => read.ms < REDIS_TIMEOUT_MS + 500), 'within about REDIS_TIMEOUT_MS plus the MySQL time')
  t.same(new Set(writes.map(write => write.status)), new Set([200]), 'writes are acknowledged')
  t.same([readBack.status, readBack.body?.active, readBack.body?.redis_cache], [200, false, 'bypass'], 'and read back from MySQL while their invalidation is owed')
  t.equal(pending, 1, 'five writes of one location owe one invalidation: nothing piles up')

  proxy.delay(0)
  const replayedBy = Date.now() + 10_000
  while (await metricSample(base, 'nicaventas_cache_pending_invalidations') > 0) {
    if (Date.now() > replayedBy) throw new Error('the invalidation was not replayed within 10 s')
    await sleep(50)
  }
  const after = [await client.get('NI', 'Managua'), await client.get('NI', 'Managua')]
  t.same(after.map(answer => [answer.body?.active, answer.body?.redis_cache]), [[false, 'miss'], [false, 'hit']],
    'once Redis is fast again: the acknowledged write, then from the cache again')

  const output = server.output()
  t.equal(count(output, /Redis failed while/), 1, 'one warning for the episode, not one per request')
  t.equal(count(output, /Redis answers the cache again/), 1, 'and one line when it ends')
})
