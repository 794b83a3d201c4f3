import { createServer, request, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface EventStreamFront {
  address: string
  /** Sends one change event, as the service's change stream words it, to every open stream. */
  send (change: object): void
  /** Resolves once a stream of that country is open and greeted. */
  opened: Promise<string>
}

/**
 * A real HTTP server in front of the app that serves GET /active/events itself, as Server-Sent
 * Events (an initial `hello`, then `change` events the test sends), or answers it 404 as a service
 * without the stream would (`withoutStream`), and passes every other request to the app: the
 * console's handling of each event, and its polling fallback, on their own.
 */
export async function eventStreamFront (t: Test, appAddress: string, { withoutStream = false } = {}): Promise<EventStreamFront> {
  const streams = new Set<ServerResponse>()
  let id = 0
  let announceOpened: (country: string) => void = () => {}
  const opened = new Promise<string>(resolve => { announceOpened = resolve })
  const upstream = new URL(appAddress)
  const server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', appAddress)
    if (url.pathname === '/active/events' && withoutStream) {
      outgoing.writeHead(404, { 'content-type': 'application/json' }).end('{"statusCode":404,"error":"Not Found","message":"Route GET:/active/events not found"}')
      announceOpened(String(url.searchParams.get('country')))
      return
    }
    if (url.pathname === '/active/events') {
      outgoing.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      outgoing.write(`id: ${++id}\nevent: hello\ndata: {"country":"${url.searchParams.get('country')}"}\n\n`)
      streams.add(outgoing)
      incoming.on('close', () => streams.delete(outgoing))
      announceOpened(String(url.searchParams.get('country')))
      return
    }
    const forwarded = request({ host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, answer => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(outgoing)
    })
    incoming.pipe(forwarded)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => {
    for (const stream of streams) stream.end()
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    send (change) {
      const event = `id: ${++id}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`
      for (const stream of streams) stream.write(event)
    },
    opened
  }
}
