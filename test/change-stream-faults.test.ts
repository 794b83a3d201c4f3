import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import mysql from 'mysql2/promise'
import t, { type Test } from 'tap'
import { AUTH, build, cleanUp, isolatedEnv } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'
import { changesIn, openSse, type SseStream } from './support/sse-client.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { until } from './support/until.ts'

// The change stream across instances and through faults: another instance's writes, direct SQL,
// a Redis connection cut and restored, a client that stops reading, and SIGTERM with streams open.

const ROOT = join(import.meta.dirname, '..')

async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

/** A second instance of `first`'s deployment: the same database and cache namespace. */
const sameDeployment = (first: FastifyInstance, env: Record<string, string> = {}) =>
  ({ DATABASE_NAME: first.config.DATABASE_NAME, CACHE_NAMESPACE: first.config.CACHE_NAMESPACE, ...env })

async function subscribe (t: Test, url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const stream = await openSse(url, headers)
  t.teardown(() => stream.close())
  await stream.waitFor('hello')
  return stream
}

/** PUTs over HTTP, as a client of that instance; resolves when the answer has arrived (the acknowledgement). */
async function put (base: string, city: string, active: boolean): Promise<number> {
  const response = await fetch(`${base}/active`, {
    method: 'PUT', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ country: 'NI', city, active })
  })
  await response.arrayBuffer()
  if (response.status !== 200) throw new Error(`PUT answered ${response.status}`)
  return performance.now()
}

const connectionOf = ({ config }: FastifyInstance) =>
  ({ host: config.DATABASE_HOST, user: config.DATABASE_USER, password: config.DATABASE_PASSWORD, database: config.DATABASE_NAME })

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]!
}

t.test('a write acknowledged by one instance reaches a subscriber of another within 1 s (p99)', async t => {
  const first = await build(t)
  const second = await build(t, sameDeployment(first))
  const [writer, reader] = await Promise.all([listen(first), listen(second)])
  const stream = await subscribe(t, `${reader}/active/events?country=NI&city=Granada`)
  const delays: number[] = []
  for (let i = 0; i < 50; i++) {
    const acknowledged = await put(writer, 'Granada', i % 2 === 0)
    const [event] = (await stream.waitFor('change', i + 1)).slice(-1)
    delays.push(event!.at - acknowledged)
  }
  const figures = { p50: percentile(delays, 50), p99: percentile(delays, 99), max: Math.max(...delays) }
  t.comment(`another instance's write -> subscriber, after its acknowledgement, ms: ${JSON.stringify(figures, (_k, v: unknown) => typeof v === 'number' ? Math.round(v) : v)}`)
  t.ok(figures.p99 < 1000, `p99 ${Math.round(figures.p99)} ms`)
  const actives = changesIn(stream.events).map(change => change.active)
  t.same(actives, Array.from({ length: 50 }, (_, i) => i % 2 === 0), 'every change once, in order')
})

t.test('a direct SQL edit reaches a subscriber within CACHE_SYNC_INTERVAL_MS + 1 s', async t => {
  const app = await build(t)
  const stream = await subscribe(t, `${await listen(app)}/active/events?country=NI`)
  const sql = await directSql(t, app)
  const delays: number[] = []
  for (let i = 0; i < 5; i++) {
    await sql.query('UPDATE locations SET active = ? WHERE country = \'NI\' AND city_key = \'masaya\'', [i % 2 === 0])
    const committed = performance.now()
    const [event] = (await stream.waitFor('change', i + 1, 5000)).slice(-1)
    delays.push(event!.at - committed)
  }
  t.comment(`direct SQL edit -> subscriber, ms: ${delays.map(Math.round).join(', ')} (CACHE_SYNC_INTERVAL_MS ${app.config.CACHE_SYNC_INTERVAL_MS})`)
  t.ok(Math.max(...delays) < app.config.CACHE_SYNC_INTERVAL_MS + 1000, `at most ${Math.round(Math.max(...delays))} ms`)
  t.same(changesIn(stream.events).map(change => [change.city, change.active, change.action]),
    Array.from({ length: 5 }, (_, i) => ['Masaya', i % 2 === 0, 'update']))
})

t.test('with its Redis cut, an instance still streams every change (from MySQL), and after Redis returns, at once again; none lost or twice', async t => {
  const first = await build(t)
  const proxy = await startTcpProxy(first.config.REDIS_PORT)
  t.teardown(() => proxy.close())
  const second = await build(t, sameDeployment(first, { REDIS_PORT: String(proxy.port) }))
  const [writer, reader] = await Promise.all([listen(first), listen(second)])
  const stream = await subscribe(t, `${reader}/active/events?country=NI`)
  await put(writer, 'León', true)
  await stream.waitFor('change', 1)

  await proxy.cut()
  const cutDelays: number[] = []
  for (let i = 0; i < 5; i++) {
    const acknowledged = await put(writer, 'León', i % 2 === 1)
    const [event] = (await stream.waitFor('change', 2 + i, 5000)).slice(-1)
    cutDelays.push(event!.at - acknowledged)
  }
  t.comment(`Redis cut: another instance's write -> subscriber, ms: ${cutDelays.map(Math.round).join(', ')}`)
  t.ok(Math.max(...cutDelays) < second.config.CACHE_SYNC_INTERVAL_MS + 1000, 'within the sync interval and a second, from MySQL alone')

  await proxy.restore()
  await until(async () => (await second.redis.ping().catch(() => '')) === 'PONG', 'the instance reaches Redis again')
  // The subscription is made again on the connection's next 'ready'; a write's notice then wakes the feed at once.
  await until(async () => (await first.redis.pubsub('NUMSUB', `${first.config.CACHE_NAMESPACE}:v1:changes`) as [string, number])[1] >= 2,
    'both instances listen for notices again')
  const acknowledged = await put(writer, 'León', true)
  const [event] = (await stream.waitFor('change', 7)).slice(-1)
  t.ok(event!.at - acknowledged < 1000, `woken through Redis again: ${Math.round(event!.at - acknowledged)} ms`)
  const ids = changesIn(stream.events).map(change => change.id)
  t.equal(ids.length, 7)
  t.ok(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1), 'consecutive ids: none lost, none twice')
})

t.test('a subscriber that stops reading is disconnected past CHANGE_STREAM_MAX_UNSENT_BYTES, and resumes with what it missed', async t => {
  // 64 KiB: a reader on a loaded machine may be that far behind a burst for a moment, not for a second.
  const app = await build(t, { CHANGE_STREAM_MAX_UNSENT_BYTES: '65536', CHANGE_STREAM_REPLAY_MAX: '100000' })
  const url = await listen(app)
  const slow = await subscribe(t, `${url}/active/events`)
  const steady = await subscribe(t, `${url}/active/events`)
  slow.pause()
  const sql = await directSql(t, app)
  // Thousands of changes at once, of long names: more than the kernel's buffers between the two hold.
  const long = 'x'.repeat(90)
  await sql.query(`INSERT INTO locations (country, city, city_key, active)
    SELECT 'NI', CONCAT('${long}', seq), CONCAT('${long}', seq), 1 FROM seq_1_to_6000`)
  let rounds = 0
  while (app.changeStream.dropped === 0 && rounds++ < 8) {
    await sql.query(`UPDATE locations SET active = NOT active WHERE country = 'NI' AND city_key LIKE '${long}%'`)
    await until(async () => app.changeFeed.deliveredUpTo! >= Number((await sql.query('SELECT MAX(id) AS m FROM location_changes') as unknown as [[{ m: number }]])[0][0].m), 'the feed has streamed them', 20_000)
  }
  t.equal(app.changeStream.dropped, 1, 'the slow subscriber was dropped')
  t.equal(app.changeStream.size, 1, 'the steady one stays')
  slow.resume()
  await slow.ended
  const received = changesIn(slow.events)
  const total = 6000 * (1 + rounds)
  t.ok(received.length < total, `it had received ${received.length} of ${total}`)

  const resumed = await subscribe(t, `${url}/active/events`, { 'last-event-id': String(received.at(-1)!.id) })
  await until(async () => changesIn(steady.events).length === total, 'the steady subscriber has every change', 20_000)
  await until(async () => received.length + changesIn(resumed.events).length >= total, 'the resumed one has the rest', 20_000)
  const ids = [...received, ...changesIn(resumed.events)].map(change => change.id)
  t.same(ids, changesIn(steady.events).map(change => change.id), 'together, every change once, in order')
})

t.test('SIGTERM ends every open stream at once, and the process exits cleanly well within its grace', async t => {
  const port = await freePort()
  const env = isolatedEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => cleanUp(env))
  const server = spawnServer([process.execPath, 'server.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } })
  t.teardown(() => server.stop())
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(server, `${base}/ready`)
  const streams = await Promise.all([0, 1, 2].map(() => subscribe(t, `${base}/active/events`)))
  await put(base, 'Rivas', true)
  await Promise.all(streams.map(stream => stream.waitFor('change')))

  const signalled = performance.now()
  server.child.kill('SIGTERM')
  await Promise.all(streams.map(stream => stream.ended))
  const streamsEnded = performance.now() - signalled
  const exit = await server.exited
  const exited = performance.now() - signalled
  t.comment(`SIGTERM -> every stream ended in ${Math.round(streamsEnded)} ms, process exited in ${Math.round(exited)} ms`)
  t.ok(streamsEnded < 1000, 'the streams end at once: the clients reconnect elsewhere')
  t.same(exit, { code: 0, signal: null }, 'a clean exit')
  t.ok(exited < 5000, 'well within the grace (18 s by default)')
  if (exit.code !== 0) t.comment(server.output().slice(-4000))
})

t.test('with MySQL cut, a resume is refused with 503 and the open streams wait; once it returns, the changes made meanwhile are streamed', async t => {
  const proxy = await startTcpProxy(Number(process.env.DATABASE_PORT ?? 3306))
  t.teardown(() => proxy.close())
  const app = await build(t, { DATABASE_PORT: String(proxy.port), DATABASE_TIMEOUT_MS: '500', CACHE_SYNC_INTERVAL_MS: '100' })
  const url = await listen(app)
  const stream = await subscribe(t, `${url}/active/events`)
  const [hello] = stream.events
  // The test's own connection goes to MySQL itself, not through the proxy.
  const sql = await mysql.createConnection({ ...connectionOf(app), port: Number(process.env.DATABASE_PORT ?? 3306) })
  t.teardown(() => sql.end())

  await proxy.cut()
  const resume = await app.inject({ url: '/active/events', headers: { 'last-event-id': String(Number(hello!.id) - 1) } })
  t.equal(resume.statusCode, 503, 'the resume cannot be read')
  t.ok(Number(resume.headers['retry-after']) >= 1)
  t.equal(app.changeStream.size, 1, 'the refused one holds no place')
  await sql.query('UPDATE locations SET active = 1 WHERE country = \'NI\' AND city_key = \'masaya\'')
  await new Promise(resolve => setTimeout(resolve, 300))
  t.same(changesIn(stream.events), [], 'nothing while the feed cannot read')

  await proxy.restore()
  const [change] = changesIn(await stream.waitFor('change', 1, 5000))
  t.match(change, { city: 'Masaya', active: true, id: Number(hello!.id) + 1 })
})

/** Connects the subscribers' process has under way at once: well under Node's listen backlog (511). */
const CONNECTS_AT_ONCE = 256

/** A child process holding `count` streams of `query`, reading and discarding them; prints how many had each change. */
function subscribersElsewhere (t: Test, port: number, count: number, query: string) {
  // Streams are opened a few hundred at a time, each opening the next once it has its hello: thousands
  // of connects at once overflow the listen backlog, and a connect dropped there is retried after 1, 3,
  // 7, 15, 31 s, past the wait below on a loaded machine.
  const script = `
    const net = require('node:net')
    let started = 0, opened = 0, changes = 0
    function open () {
      if (started === ${count}) return
      const index = ++started
      const socket = net.connect(${port}, '127.0.0.1')
      socket.setEncoding('utf8')
      socket.on('error', error => { console.error('stream ' + index + ': ' + error.message) })
      socket.write('GET /active/events?${query} HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n')
      let greeted = false
      socket.on('data', chunk => {
        if (!greeted && chunk.includes('event: hello')) {
          greeted = true
          if (++opened === ${count}) console.log('opened')
          open()
        }
        const seen = chunk.split('event: change').length - 1
        if (seen > 0) { changes += seen; console.log('changes ' + changes) }
      })
    }
    for (let i = 0; i < Math.min(${CONNECTS_AT_ONCE}, ${count}); i++) open()`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = () => { child.kill() }
  t.teardown(stop)
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  return {
    opened: () => until(async () => output.includes('opened'), `${count} streams open`, 60_000),
    changes: (total: number) => until(async () => output.includes(`changes ${total}\n`), `${total} change events read`, 60_000),
    stop
  }
}

async function hitLatencies (url: string, count: number): Promise<number[]> {
  const latencies: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const response = await fetch(`${url}/active?country=NI&city=Managua`)
    await response.arrayBuffer()
    latencies.push(performance.now() - started)
  }
  return latencies
}

/** The hits' latencies alone, then during five changes to `subscribers` subscribers written `writeSlice` at a time. */
async function hitsDuringChanges (t: Test, subscribers: number, writeSlice: number): Promise<{ alone: number[], during: number[] }> {
  const app = await build(t, { CHANGE_STREAM_MAX_SUBSCRIBERS: String(subscribers), CHANGE_STREAM_MAX_PER_CLIENT: String(subscribers), CHANGE_STREAM_WRITE_SLICE: String(writeSlice) })
  const url = await listen(app)
  const alone = await hitLatencies(url, 300)
  const streams = subscribersElsewhere(t, (app.server.address() as { port: number }).port, subscribers, 'country=NI')
  await streams.opened()
  const writes = (async () => {
    for (let i = 0; i < 5; i++) {
      await put(url, 'Masaya', i % 2 === 0)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })()
  const during = await hitLatencies(url, 300)
  await writes
  await streams.changes(5 * subscribers)
  streams.stop()
  await app.close()
  return { alone, during }
}

t.test('cache hits are not held up by a change sent to thousands of subscribers', async t => {
  const subscribers = 10_000
  // The same run, written in one loop: what slicing is measured against, on a machine however loaded.
  const oneLoop = await hitsDuringChanges(t, subscribers, subscribers)
  const sliced = await hitsDuringChanges(t, subscribers, 250)
  const figures = (name: string, { alone, during }: { alone: number[], during: number[] }) =>
    `${name}: alone p99 ${percentile(alone, 99).toFixed(1)}; during p99 ${percentile(during, 99).toFixed(1)}, max ${Math.max(...during).toFixed(1)}`
  t.comment(`cache hits during 5 changes to ${subscribers} subscribers, ms: ${figures('in one loop', oneLoop)}; ${figures('in slices of 250', sliced)}`)
  // Measured on 2 shared cores: in one loop, the hits' p99 was 174-202 ms; in slices of 250, 22-47 ms
  // (once 174 ms while other work loaded the machine, which loads the one-loop run as much).
  const [slicedP99, oneLoopP99] = [percentile(sliced.during, 99), percentile(oneLoop.during, 99)]
  t.ok(slicedP99 <= Math.max(50, oneLoopP99 / 2), `sliced p99 ${slicedP99.toFixed(1)} ms: at most half the one-loop p99 (${oneLoopP99.toFixed(1)} ms), or 50 ms`)
})
