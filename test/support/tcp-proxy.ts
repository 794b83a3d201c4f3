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
  /** Forwards again: connections held by a blackhole are closed, the port accepts again. */
  restore (): Promise<void>
  close (): Promise<void>
}

/** A TCP proxy on 127.0.0.1 to a local server, for faults the test controls: a cut, a hang, a return. */
export async function startTcpProxy (targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let mode: 'open' | 'blackhole' | 'cut' = 'open'

  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // Broken connections are what this proxy is for; their errors say nothing the test needs.
    socket.on('error', () => {})
  }

  const server = createServer(client => {
    track(client)
    if (mode !== 'open') return
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    track(upstream)
    client.pipe(upstream)
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
