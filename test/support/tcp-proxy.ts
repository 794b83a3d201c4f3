import { once } from 'node:events'
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'

export interface TcpProxy {
  readonly port: number
  /** Closes every connection and refuses new ones, as a crashed server does. */
  cut (): Promise<void>
  /**
   * Keeps every connection open but forwards nothing, and accepts new ones
   * that never answer, as a hung server or a silent network does.
   */
  blackhole (): void
  /**
   * Holds every chunk a client sends for `ms` before forwarding it (order kept),
   * so each request/answer round trip takes that much longer, as a slow server or
   * network does; 0 forwards at once again.
   */
  delay (ms: number): void
  /** Holds everything clients send until resume(), as a MySQL that stalls (a lock, a flush) does. */
  stall (): void
  /** Forwards what a stall held, in order, and forwards again. */
  resume (): void
  /** Connections accepted since the proxy started: how many the client opened. */
  readonly connectionsAccepted: number
  /** Forwards again: connections held by a blackhole are closed, the port accepts again. */
  restore (): Promise<void>
  close (): Promise<void>
}

/** A TCP proxy on 127.0.0.1 to a local server, for faults the test controls: a cut, a hang, a return. */
export async function startTcpProxy (targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let mode: 'open' | 'blackhole' | 'cut' = 'open'
  let delayMs = 0
  let accepted = 0
  let stalled = false
  // Per connection, what to do with the chunks a stall held.
  const releases = new Set<() => void>()

  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // Broken connections are what this proxy is for; their errors say nothing the test needs.
    socket.on('error', () => {})
  }

  /** Client to upstream, each chunk held for the delay in force when it arrived, never overtaking an earlier one. */
  function forwardDelayed (client: Socket, upstream: Socket): void {
    let lastDue = 0
    let held: Buffer[] = []
    const release = () => {
      for (const chunk of held) if (!upstream.destroyed) upstream.write(chunk)
      held = []
    }
    releases.add(release)
    client.on('close', () => releases.delete(release))
    client.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole') return
      if (stalled) {
        held.push(chunk)
        return
      }
      const due = Math.max(lastDue, Date.now() + delayMs)
      lastDue = due
      setTimeout(() => { if (mode === 'open' && !upstream.destroyed) upstream.write(chunk) }, due - Date.now())
    })
  }

  const server = createServer(client => {
    accepted++
    track(client)
    if (mode !== 'open') return
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    track(upstream)
    forwardDelayed(client, upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  // destroy(), not resetAndDestroy(): Node never finishes closing some reset sockets, which keeps the test process alive.
  function closeAll (): void {
    for (const socket of sockets) socket.destroy()
  }

  async function stopListening (): Promise<void> {
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    closeAll()
    await closed
  }

  return {
    port,

    get connectionsAccepted () { return accepted },

    delay (ms) { delayMs = ms },

    stall () { stalled = true },

    resume () {
      stalled = false
      for (const release of releases) release()
    },

    async cut () {
      mode = 'cut'
      await stopListening()
    },

    blackhole () {
      mode = 'blackhole'
      for (const socket of sockets) {
        socket.unpipe()
        socket.pause()
      }
    },

    async restore () {
      if (mode === 'blackhole') closeAll()
      mode = 'open'
      if (server.listening) return
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    },

    async close () {
      mode = 'cut'
      await stopListening()
    }
  }
}
