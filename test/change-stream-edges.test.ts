import { request } from 'node:http'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { AUTH, build } from './helper.ts'
import { openSse, type SseStream } from './support/sse-client.ts'
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts'
import { until } from './support/until.ts'

// The change stream's edges: a client gone or a shutdown while its resume is read, HEAD, a Last-Event-ID from the future.

async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

/** An app whose MySQL connections go through a proxy the test can stall. */
async function behindProxy (t: Test): Promise<{ app: FastifyInstance, url: string, proxy: TcpProxy }> {
  const proxy = await startTcpProxy(Number(process.env.DATABASE_PORT ?? 3306))
  t.teardown(() => proxy.close())
  const app = await build(t, { DATABASE_PORT: String(proxy.port) })
  return { app, url: await listen(app), proxy }
}

async function latestOf (app: FastifyInstance): Promise<number> {
  const response = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'León', active: true } })
  if (response.statusCode !== 200) throw new Error(`PUT answered ${response.statusCode}`)
  await until(async () => app.changeFeed.deliveredUpTo! > 0, 'the feed has read the change')
  return app.changeFeed.deliveredUpTo!
}

for (const path of ['/active/events', '/ofrep/v1/events']) {
  t.test(`HEAD ${path} is answered at once (405, Allow: GET) and takes no subscriber's place`, async t => {
    const app = await build(t)
    const url = await listen(app)
    const answer = await new Promise<{ status: number, allow: string | undefined }>((resolve, reject) => {
      const req = request(`${url}${path}`, { method: 'HEAD' }, response => {
        response.resume()
        response.on('end', () => resolve({ status: response.statusCode!, allow: response.headers.allow }))
      })
      req.setTimeout(2000, () => req.destroy(new Error('HEAD was not answered within 2 s')))
      req.on('error', reject)
      req.end()
    })
    t.same(answer, { status: 405, allow: 'GET' })
    t.equal(app.changeStream.size, 0)
  })
}

t.test('a client that disconnects while its resume is read leaves no subscriber behind', async t => {
  const { app, url, proxy } = await behindProxy(t)
  const latest = await latestOf(app)
  proxy.stall()
  const req = request(`${url}/active/events`, { headers: { 'last-event-id': String(latest - 1) } })
  req.on('error', () => {})
  req.end()
  await until(async () => app.changeStream.size === 1, 'the resume is being read')
  req.destroy()
  await new Promise(resolve => setTimeout(resolve, 100))
  proxy.resume()
  await until(async () => app.changeStream.size === 0, 'the place is freed', 3000)
  t.equal(app.changeStream.size, 0)
})

t.test('a shutdown while a resume is read ends that request at once', async t => {
  const { app, url, proxy } = await behindProxy(t)
  const latest = await latestOf(app)
  proxy.stall()
  const resuming = openSse(`${url}/active/events`, { 'last-event-id': String(latest - 1) })
  await until(async () => app.changeStream.size === 1, 'the resume is being read')
  const started = performance.now()
  const closing = app.close()
  await new Promise(resolve => setTimeout(resolve, 100))
  proxy.resume()
  const stream: SseStream = await resuming
  await Promise.race([stream.ended, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('the stream was left open')), 3000))])
  await closing
  t.equal(stream.status, 503, 'refused: the instance is closing')
  t.ok(performance.now() - started < 3000, `closed in ${Math.round(performance.now() - started)} ms`)
})

t.test('a Last-Event-ID above every id of ours gets reset; one at most 15 digits long', async t => {
  const app = await build(t)
  const url = await listen(app)
  const latest = await latestOf(app)
  for (const id of [String(latest + 1000), '9'.repeat(16)]) {
    const stream = await openSse(`${url}/active/events`, { 'last-event-id': id })
    t.teardown(() => stream.close())
    const [reset] = await stream.waitFor('reset', 1, 3000)
    t.equal(reset!.id, String(app.changeFeed.deliveredUpTo), `${id}: reset to the newest id`)
  }
})

t.test('a stream, taken over from Fastify, still logs a line when it opens and one when it closes', async t => {
  const written: string[] = []
  const app = await build(t, { LOG_LEVEL: 'info' }, { logStream: { write: line => { written.push(line) } } })
  const url = await listen(app)
  const stream = await openSse(`${url}/active/events?country=NI`, { 'x-request-id': 'stream-1' })
  await stream.waitFor('hello')
  stream.close()
  const lines = () => written.map(line => JSON.parse(line) as { reqId?: string, msg: string, durationMs?: number, filter?: unknown })
    .filter(line => line.reqId === 'stream-1')
  await until(async () => lines().some(line => line.msg === 'Change stream closed'), 'the closing line')
  t.match(lines(), [{ msg: 'Change stream opened', filter: { country: 'NI' } }, { msg: 'Change stream closed', durationMs: Number }])
})

t.test('beyond CHANGE_STREAM_MAX_PER_CLIENT streams from one client, it gets 503 with Retry-After; the instance still has room', async t => {
  const app = await build(t, { CHANGE_STREAM_MAX_PER_CLIENT: '2' })
  const url = await listen(app)
  const streams = await Promise.all([0, 1].map(() => openSse(`${url}/active/events`)))
  t.teardown(() => { for (const stream of streams) stream.close() })
  await Promise.all(streams.map(stream => stream.waitFor('hello')))
  const refused = await openSse(`${url}/active/events?country=NI`)
  t.equal(refused.status, 503)
  t.equal(refused.headers['retry-after'], '5')
  await refused.ended
  t.same(JSON.parse(refused.text), { statusCode: 503, error: 'Service Unavailable', message: 'This client has 2 streams open on this instance already; close one, or try again later' })
  t.ok(app.changeStream.size < app.config.CHANGE_STREAM_MAX_SUBSCRIBERS, 'the instance as a whole had room')
  streams[0]!.close()
  await until(async () => app.changeStream.size === 1, 'the closed stream\'s place is freed')
  const again = await openSse(`${url}/active/events`)
  t.teardown(() => again.close())
  t.equal(again.status, 200)
})
