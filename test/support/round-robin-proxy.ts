import { once } from 'node:events'
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'

/**
 * A stand-in for the nginx in front of the instances (deploy/nginx.conf): a TCP proxy on
 * 127.0.0.1 that hands each new client connection to the next backend in turn, as nginx's
 * default (round-robin) upstream balancing does, and passes a connection on to the next
 * backend when one fails, as `proxy_next_upstream error` does.
 *
 * The design, and why "no request fails" holds with it while an instance restarts:
 *
 * - Clients send one request per connection (`sendOnFreshConnection` in stale-read-check.ts),
 *   so a connection is a request and balancing connections balances requests. A kept-alive
 *   client connection would be pinned to one instance; when that instance is SIGTERM'd it
 *   closes its idle connections (Node's server.close(), app.ts's graceful close), and a
 *   request the client sends on one at that moment is lost, with no way to tell whether the
 *   instance acted on it. With one request per connection there is no idle connection to lose.
 * - A connect that fails (the instance is down or restarting: ECONNREFUSED) has sent nothing:
 *   the connection goes to the next backend, whatever the request.
 * - An instance that is closing answers every request it has read (app.ts: in-flight requests
 *   finish, answered with `connection: close`). What it can drop unanswered is a connection
 *   whose request it never read: one still in the kernel's accept queue when the listening
 *   socket closes, or one accepted but idle when server.close() destroys idle connections.
 *   So until the first byte of the answer arrives, the proxy keeps the request's bytes, and
 *   when the backend goes away without answering it replays them to the next backend if that
 *   cannot do a request twice:
 *     - nothing was sent yet, or the request is a GET or HEAD (safe: nginx passes those on too);
 *     - any other method (a PUT) only if the backend *reset* the connection before any FIN:
 *       the kernel resets a socket closed with unread bytes in it, and the request is all the
 *       client sends, so some of it was unread and the instance never handled it. A plain
 *       close (FIN) without an answer may follow a request that was read and acted on (an
 *       instance killed mid-request), so that PUT is not replayed and the client sees the
 *       connection fail: its outcome is unknown, and only the client may decide to retry.
 * - Each backend is tried at most once per client connection, the failed one's successor
 *   first; if all fail, the client's connection is destroyed, which the client sees as a
 *   failed request.
 *
 * An answer that did arrive is passed on as it is, a 503 included: nginx's
 * `proxy_next_upstream error timeout` does not pass a request on for a status.
 */
export interface RoundRobinProxy {
  readonly port: number
  readonly url: string
  /** Per backend (in the order given): connections it accepted. */
  readonly connections: readonly number[]
  /** Per backend: connections it answered (sent at least one byte back). */
  readonly answered: readonly number[]
  /** Per backend: connects it refused or that failed. */
  readonly connectFailures: readonly number[]
  /** Requests replayed to the next backend after one dropped them unanswered, by method. */
  readonly replays: Readonly<Record<string, number>>
  /** Requests that every backend failed, or that could not be replayed: the client saw them fail. */
  readonly dropped: readonly string[]
  close (): Promise<void>
}

export async function startRoundRobinProxy (backendPorts: number[]): Promise<RoundRobinProxy> {
  const count = backendPorts.length
  const connections = backendPorts.map(() => 0)
  const answered = backendPorts.map(() => 0)
  const connectFailures = backendPorts.map(() => 0)
  const replays: Record<string, number> = {}
  const dropped: string[] = []
  const sockets = new Set<Socket>()
  let next = 0

  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }

  const server = createServer(client => {
    track(client)
    // What the client sent, kept until the answer's first byte: then a replay can no longer happen.
    let held: Buffer[] | undefined = []
    let clientEnded = false
    // The attempt in progress: its socket, once connected, gets what the client sends.
    let current: { socket: Socket, sent: boolean } | undefined
    // The backends this connection has been handed to: each is tried once, as nginx tries each server once.
    const tried = new Set<number>()
    let previous: number | undefined
    const method = () => Buffer.concat(held ?? []).toString('latin1', 0, 16).split(' ', 1)[0] ?? ''

    client.on('data', (chunk: Buffer) => {
      held?.push(chunk)
      if (current?.socket.readyState === 'open') {
        current.socket.write(chunk)
        current.sent = true
      }
    })
    client.on('end', () => {
      clientEnded = true
      if (current?.socket.readyState === 'open') current.socket.end()
    })
    client.on('error', () => {})
    client.on('close', () => current?.socket.destroy())

    function attempt (): void {
      if (client.destroyed) return
      if (tried.size === count) {
        dropped.push(`${method() || 'no request'}: every backend failed`)
        client.destroy()
        return
      }
      // The next backend in turn; after a failure, the one after the failed one not tried yet.
      let index = previous === undefined ? next++ % count : (previous + 1) % count
      while (tried.has(index)) index = (index + 1) % count
      tried.add(index)
      previous = index
      const socket = createConnection({ host: '127.0.0.1', port: backendPorts[index] as number })
      const state = { socket, sent: false }
      current = state
      track(socket)
      let connected = false
      let finReceived = false
      let firstByte = false
      let reset = false

      socket.on('connect', () => {
        connected = true
        connections[index]!++
        for (const chunk of held ?? []) {
          socket.write(chunk)
          state.sent = true
        }
        if (clientEnded) socket.end()
      })
      socket.on('data', (chunk: Buffer) => {
        if (!firstByte) {
          firstByte = true
          answered[index]!++
          held = undefined
        }
        client.write(chunk)
      })
      socket.on('end', () => {
        finReceived = true
        if (firstByte) client.end()
      })
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNRESET' && !finReceived) reset = true
      })
      socket.on('close', () => {
        if (client.destroyed) return
        if (firstByte) {
          client.end()
          return
        }
        if (!connected) {
          connectFailures[index]!++
          attempt()
          return
        }
        const verb = method()
        if (!state.sent || verb === 'GET' || verb === 'HEAD' || reset) {
          const reason = state.sent ? verb : 'nothing sent'
          replays[reason] = (replays[reason] ?? 0) + 1
          attempt()
          return
        }
        dropped.push(`${verb}: backend ${index} closed the connection without an answer`)
        client.destroy()
      })
    }
    attempt()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    answered,
    connectFailures,
    replays,
    dropped,
    async close () {
      const closed = once(server, 'close')
      server.close()
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}
