import { request, type IncomingHttpHeaders } from 'node:http'
import { constants, createGunzip } from 'node:zlib'
import { CheckFailure } from './client.ts'

/** One Server-Sent Event as it came off the wire, and when (performance.now()). */
export interface StreamEvent {
  event: string
  id: string | undefined
  data: string
  at: number
}

/**
 * A Server-Sent Events stream read raw with node:http, comments included: the keep-alive
 * comments are what must cross nginx, and an EventSource never shows them. It offers gzip, as
 * browsers do, so a proxy that compressed the stream and held events back to fill its blocks
 * would be caught.
 */
export interface EventStream {
  readonly headers: IncomingHttpHeaders
  readonly events: StreamEvent[]
  /** When each comment line (`: keep-alive`) came. */
  readonly comments: number[]
  /** Set when nginx or the service ended the stream. */
  readonly endedAt: number | undefined
  /** The first value `find` returns, re-asked as the stream reads; a CheckFailure after `timeoutMs` or when the stream ends. */
  until<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T>
  close(): void
}

const OPEN_TIMEOUT_MS = 5000

export async function openEventStream (base: string, path: string, headers: Record<string, string> = {}): Promise<EventStream> {
  return await new Promise((resolve, reject) => {
    // The service sends a stream's headers with its first event at once: a proxy that buffers holds both back.
    const timer = setTimeout(() => outgoing.destroy(new Error(`no answer within ${OPEN_TIMEOUT_MS} ms: is nginx buffering the stream?`)), OPEN_TIMEOUT_MS)
    const outgoing = request(`${base}${path}`, { headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip', ...headers } }, response => {
      clearTimeout(timer)
      if (response.statusCode !== 200 || !String(response.headers['content-type']).startsWith('text/event-stream')) {
        let text = ''
        response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
        response.on('end', () => reject(new CheckFailure(`GET ${path} through nginx: expected a 200 event stream, got ` +
          `${response.statusCode} ${response.headers['content-type']}: ${text.slice(0, 200)}`, ['proxy', 'app'])))
        return
      }
      const stream = readEvents(response.headers, () => outgoing.destroy())
      const body = response.headers['content-encoding'] === 'gzip'
        ? response.pipe(createGunzip({ flush: constants.Z_SYNC_FLUSH })).on('error', () => stream.end())
        : response
      body.setEncoding('utf8').on('data', (chunk: string) => stream.read(chunk))
      response.on('close', () => stream.end())
      resolve(stream)
    })
    outgoing.on('error', error => reject(new CheckFailure(`GET ${path} through nginx: ${error.message}`, ['proxy'])))
    outgoing.end()
  })
}

function readEvents (headers: IncomingHttpHeaders, close: () => void): EventStream & { read (chunk: string): void, end (): void } {
  const events: StreamEvent[] = []
  const comments: number[] = []
  const waiters = new Set<() => void>()
  const changed = () => { for (const waiter of waiters) waiter() }
  let pending = ''
  let block: { event?: string, id?: string, data: string[] } = { data: [] }
  let closedByUs = false
  const self = {
    headers,
    events,
    comments,
    endedAt: undefined as number | undefined,
    read (chunk: string) {
      pending += chunk
      const lines = pending.split(/\r?\n/)
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith(':')) comments.push(performance.now())
        else if (line !== '') {
          const [, field = '', value = ''] = /^([^:]*):? ?(.*)$/.exec(line) ?? []
          if (field === 'event') block.event = value
          else if (field === 'id') block.id = value
          else if (field === 'data') block.data.push(value)
        } else {
          // A block with neither event nor data (the opening `retry:`) is no event.
          if (block.event !== undefined || block.data.length > 0) {
            events.push({ event: block.event ?? 'message', id: block.id, data: block.data.join('\n'), at: performance.now() })
          }
          block = { data: [] }
        }
      }
      changed()
    },
    end () {
      if (!closedByUs) self.endedAt ??= performance.now()
      changed()
    },
    async until<T> (find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
      return await new Promise<T>((resolve, reject) => {
        const check = () => {
          const found = find()
          if (found !== undefined) finish(() => resolve(found))
          else if (self.endedAt !== undefined) finish(() => reject(new CheckFailure(`${what}: the stream was ended first (by nginx or the service)`, ['proxy', 'app'])))
        }
        const timer = setTimeout(() => finish(() => reject(new CheckFailure(`${what}: not within ${timeoutMs} ms`, ['proxy', 'app']))), timeoutMs)
        const finish = (settle: () => void) => {
          clearTimeout(timer)
          waiters.delete(check)
          settle()
        }
        waiters.add(check)
        check()
      })
    },
    close () {
      closedByUs = true
      close()
    }
  }
  return self
}
