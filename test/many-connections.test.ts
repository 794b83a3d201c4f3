import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { HTTP_TIMEOUTS } from '../app.ts'
import { build } from './helper.ts'

const IDLE = 1000
const SLOW = 100
const HITS = 1000
const HIT_CONNECTIONS = 10

/** A connection that made one request, read its answer, and now sits idle, kept alive. */
async function idleConnection (port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write('GET /health HTTP/1.1\r\nHost: test\r\n\r\n')
  const [answer] = await once(socket, 'data') as [Buffer]
  if (!answer.toString().startsWith('HTTP/1.1 200')) throw new Error(`unexpected answer: ${answer.toString()}`)
  return socket
}

/** A connection that sends its request headers one byte at a time; resolves with what the server sent when it closes. */
function slowHeaders (port: number, signal: AbortSignal): { socket: Socket, closed: Promise<string> } {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let received = ''
  socket.on('data', chunk => { received += chunk.toString() })
  const closed = once(socket, 'close').then(() => received)
  const headers = `GET /active?country=NI&city=Managua HTTP/1.1\r\nHost: test\r\nX-Slow: ${'a'.repeat(1000)}\r\n\r\n`
  socket.once('connect', async () => {
    for (const byte of headers) {
      if (signal.aborted || socket.destroyed) return
      socket.write(byte)
      await sleep(100)
    }
  })
  return { socket, closed }
}

function percentile (values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number
}

t.test('1,000 idle keep-alive connections and 100 slow-header connections do not slow other clients\' cache hits', async t => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const stop = new AbortController()
  const sockets: Socket[] = []
  t.teardown(() => {
    stop.abort()
    for (const socket of sockets) socket.destroy()
  })

  const agent = new Agent({ keepAlive: true, maxSockets: HIT_CONNECTIONS })
  t.teardown(() => agent.destroy())
  const hit = () => new Promise<{ ms: number, body: string }>((resolve, reject) => {
    const started = performance.now()
    request({ host: '127.0.0.1', port, path: '/active?country=NI&city=Managua', agent }, response => {
      let body = ''
      response.on('data', chunk => { body += chunk })
      response.on('end', () => resolve({ ms: performance.now() - started, body }))
    }).on('error', reject).end()
  })
  const measureHits = async () => {
    const times: number[] = []
    const bodies = new Set<string>()
    await Promise.all(Array.from({ length: HIT_CONNECTIONS }, async () => {
      while (times.length < HITS) {
        const { ms, body } = await hit()
        times.push(ms)
        bodies.add(body)
      }
    }))
    return { times, bodies }
  }
  await hit()
  // The same hits alone first: on a loaded machine (the whole suite runs in parallel on two cores)
  // they may take longer than 50 ms whatever the connections do, and that is not what is tested.
  const alone = percentile((await measureHits()).times, 0.99)

  for (let opened = 0; opened < IDLE; opened += 100) {
    sockets.push(...await Promise.all(Array.from({ length: 100 }, () => idleConnection(port))))
  }
  const slowOpenedAt = performance.now()
  const slow = Array.from({ length: SLOW }, () => slowHeaders(port, stop.signal))
  sockets.push(...slow.map(connection => connection.socket))
  await sleep(500)

  const { times, bodies } = await measureHits()
  t.comment(`${HITS} hits over ${HIT_CONNECTIONS} connections beside ${IDLE} idle and ${SLOW} slow ones: p50 ${percentile(times, 0.5).toFixed(1)} ms, p99 ${percentile(times, 0.99).toFixed(1)} ms, worst ${Math.max(...times).toFixed(1)} ms`)
  t.same(bodies, new Set(['{"active":true,"country":"NI","city":"Managua","redis_cache":"hit"}']), 'every answer a cache hit')
  const bound = Math.max(50, 2 * alone)
  t.ok(percentile(times, 0.99) < bound, `p99 under ${bound.toFixed(0)} ms (50 ms, or twice the ${alone.toFixed(1)} ms of the same hits alone)`)
  t.ok(sockets.slice(0, IDLE).every(socket => !socket.destroyed), 'the idle connections are still open: none refused for their number')

  const answers = await Promise.all(slow.map(connection => connection.closed))
  const closedAfterMs = performance.now() - slowOpenedAt
  t.comment(`slow-header connections closed by the server ${(closedAfterMs / 1000).toFixed(1)} s after they opened`)
  t.ok(answers.every(answer => answer.startsWith('HTTP/1.1 408')), 'the slow-header connections get 408 Request Timeout')
  // Node looks for them every connectionsCheckingInterval; a second more for a loaded machine.
  const latestMs = HTTP_TIMEOUTS.headersTimeout + HTTP_TIMEOUTS.connectionsCheckingInterval + 1000
  t.ok(closedAfterMs >= HTTP_TIMEOUTS.headersTimeout && closedAfterMs < latestMs, 'once their headers took longer than headersTimeout, and not much longer')
})
