import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface EventStreamFront {
  address: string
  /** Sends one change event, as the service's change stream words it, to every open stream. */
  send (change: object): void
  /** Sends `event: reset` (the service could not replay what a client missed) to every open stream. */
  reset (): void
  /** Ends every open stream, as a restarting instance does: the browser reconnects by itself. */
  drop (): void
  /** Holds the app's answers to GET /active/cities from now on, until releaseLists(). */
  holdLists (): void
  releaseLists (): void
  /** In order: `stream XX` (or `stream XX after N`, N its Last-Event-ID), `hello`, `reset`, `list XX`. */
  readonly log: readonly string[]
  /** Resolves once `count` entries of the log match. */
  waitFor (entry: RegExp, count?: number): Promise<void>
  /** Resolves once a stream of that country is open and greeted (or refused, `withoutStream`). */
  opened: Promise<string>
}

export interface EventStreamFrontOptions {
  /** How long after opening a stream its `hello` is sent. */
  helloDelayMs?: number
  /** Answers GET /active/events with a 404, as a service without the stream does. */
  withoutStream?: boolean
}

// How long the browser waits before reconnecting a dropped stream (the `retry:` field).
const RETRY_MS = 200

/**
 * A real HTTP server in front of the app that serves GET /active/events itself, as Server-Sent
 * Events (a `hello`, then the `change` and `reset` events the test sends), and passes every other
 * request to the app, logging the list reads: the console's stream path, exercised whether or not
 * the app has the stream, with the order of subscribing and reading visible.
 */
export async function eventStreamFront (t: Test, appAddress: string, options: EventStreamFrontOptions = {}): Promise<EventStreamFront> {
  const streams = new Set<ServerResponse>()
  const log: string[] = []
  const waiters = new Set<() => void>()
  let heldLists: Array<() => void> | null = null
  let id = 0
  let announceOpened: (country: string) => void = () => {}
  const opened = new Promise<string>(resolve => { announceOpened = resolve })
  const upstream = new URL(appAddress)

  const record = (entry: string) => {
    log.push(entry)
    for (const waiter of waiters) waiter()
  }
  const broadcast = (event: string) => { for (const stream of streams) stream.write(event) }

  function serveStream (incoming: IncomingMessage, outgoing: ServerResponse, country: string): void {
    if (options.withoutStream === true) {
      outgoing.writeHead(404, { 'content-type': 'application/json' }).end('{"statusCode":404,"error":"Not Found","message":"Route GET:/active/events not found"}')
      announceOpened(country)
      return
    }
    const lastEventId = incoming.headers['last-event-id']
    record(`stream ${country}${lastEventId === undefined ? '' : ` after ${String(lastEventId)}`}`)
    outgoing.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    outgoing.write(`retry: ${RETRY_MS}\n\n`)
    const hello = setTimeout(() => {
      // As the service does: a resumed stream's hello has no id, so the client keeps its position.
      outgoing.write(`${lastEventId === undefined ? `id: ${++id}\n` : ''}event: hello\ndata: {"latest_id":${id}}\n\n`)
      record('hello')
      streams.add(outgoing)
      announceOpened(country)
    }, options.helloDelayMs ?? 0)
    incoming.on('close', () => { clearTimeout(hello); streams.delete(outgoing) })
  }

  function forward (incoming: IncomingMessage, outgoing: ServerResponse): void {
    const forwarded = request({ host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, answer => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(outgoing)
    })
    // The app closed under a request still held: the browser sees the connection go.
    forwarded.on('error', () => outgoing.destroy())
    incoming.pipe(forwarded)
  }

  const server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', appAddress)
    const country = String(url.searchParams.get('country'))
    if (url.pathname === '/active/events') return serveStream(incoming, outgoing, country)
    if (url.pathname === '/active/cities' && incoming.method === 'GET') record(`list ${country}`)
    if (url.pathname === '/active/cities' && heldLists !== null) heldLists.push(() => forward(incoming, outgoing))
    else forward(incoming, outgoing)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const releaseLists = () => {
    const held = heldLists ?? []
    heldLists = null
    for (const release of held) release()
  }
  t.teardown(() => new Promise<void>(resolve => {
    heldLists = null
    for (const stream of streams) stream.end()
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    send (change) { broadcast(`id: ${++id}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`) },
    reset () {
      broadcast(`id: ${++id}\nevent: reset\ndata: {"latest_id":${id}}\n\n`)
      record('reset')
    },
    drop () {
      for (const stream of streams) stream.end()
      streams.clear()
    },
    holdLists () { heldLists ??= [] },
    releaseLists,
    log,
    waitFor (entry, count = 1) {
      return new Promise(resolve => {
        const check = () => {
          if (log.filter(line => entry.test(line)).length < count) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      })
    },
    opened
  }
}
