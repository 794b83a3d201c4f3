import { Redis } from 'ioredis'
import t from 'tap'
import { watchCommands } from '../services/redis/command-watchdog.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'

const TIMEOUT_MS = 100

t.test('a command unanswered for the timeout fails as ioredis\'s own timeout would; the connection stays, and answers once Redis is quick', async t => {
  const proxy = await startTcpProxy(Number(process.env.REDIS_PORT ?? 6379))
  t.teardown(() => proxy.close())
  const redis = new Redis({ host: '127.0.0.1', port: proxy.port, lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 0, enableOfflineQueue: false })
  await redis.connect()
  t.teardown(() => redis.disconnect())
  const watchdog = watchCommands([redis], TIMEOUT_MS)
  t.teardown(() => watchdog.stop())

  t.equal(await redis.ping(), 'PONG', 'a quick answer is not touched')
  // Redis answers after ten timeouts: the failure must come well before, whatever the machine's load.
  const answerDelayMs = 10 * TIMEOUT_MS
  proxy.delay(answerDelayMs)
  const started = performance.now()
  const failure = await redis.ping().then(() => undefined, (error: Error) => error)
  const waitedMs = performance.now() - started
  t.equal(failure?.message, 'Command timed out')
  // Up to four timeouts: the timeout, a tenth of it for the watchdog's look, and room for a stalled event loop.
  t.ok(waitedMs >= TIMEOUT_MS && waitedMs <= 4 * TIMEOUT_MS && waitedMs < answerDelayMs, `after the timeout and well before the answer (${answerDelayMs} ms): ${waitedMs.toFixed(0)} ms`)
  // The late answer arrives for a command that has failed already: the watchdog leaves it alone meanwhile.
  await new Promise(resolve => setTimeout(resolve, answerDelayMs))
  proxy.delay(0)
  t.equal(await redis.ping(), 'PONG', 'the same connection answers again')
  t.equal(proxy.connectionsAccepted, 1, 'no new connection was needed')
})
