import { request, type IncomingMessage } from 'node:http'

export interface SseEvent {
  id: string | undefined
  event: string
  data: string
  /** When the event's last line arrived (performance.now()). */
  at: number
}

export interface SseStream {
  status: number
  headers: IncomingMessage['headers']
  /** Every event so far, in order; a block of an `id` alone is kept too, with event '' and data ''. */
  readonly events: SseEvent[]
  /** Comment lines so far (keep-alives). */
  readonly comments: number
  /** Every `retry:` value so far. */
  readonly retries: number[]
  /** The body so far, as received. */
  readonly text: string
  /** Resolves when the server ended the stream (or it broke). */
  ended: Promise<void>
  readonly isEnded: boolean
  /** Waits until `count` events of `type` have arrived; returns them. */
  waitFor (type: string, count?: number, timeoutMs?: number): Promise<SseEvent[]>
  /** Stops reading: the server's writes pile up (a slow consumer). */
  pause (): void
  resume (): void
  close (): void
}

/**
 * A small Server-Sent Events reader over node:http, for assertions on the
 * exact lines a stream sends (the `eventsource` package, a real client, is
 * used where what a browser would do is the question).
 */
export function openSse (url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, response => {
      const events: SseEvent[] = []
      const retries: number[] = []
      let comments = 0
      let text = ''
      let buffered = ''
      let isEnded = false
      const waiters = new Set<() => void>()
      const notify = () => { for (const waiter of waiters) waiter() }
      response.setEncoding('utf8')
      const counts = new Map<string, number>()
      response.on('data', (chunk: string) => {
        text += chunk
        const blocks = (buffered + chunk).split('\n\n')
        buffered = blocks.pop() ?? ''
        for (const block of blocks) {
          const event: SseEvent = { id: undefined, event: '', data: '', at: performance.now() }
          let dispatch = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) { comments++; continue }
            const colon = line.indexOf(':')
            const field = line.slice(0, colon)
            const value = line.slice(colon + 1).replace(/^ /, '')
            if (field === 'retry') retries.push(Number(value))
            else if (field === 'id') { event.id = value; dispatch = true } else if (field === 'event') { event.event = value; dispatch = true } else if (field === 'data') { event.data = value; dispatch = true }
          }
          if (dispatch) {
            events.push(event)
            counts.set(event.event, (counts.get(event.event) ?? 0) + 1)
          }
        }
        notify()
      })
      const ended = new Promise<void>(resolve => {
        const done = () => { isEnded = true; notify(); resolve() }
        response.once('end', done)
        response.once('close', done)
        response.once('error', done)
      })
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        get events () { return events },
        get comments () { return comments },
        get retries () { return retries },
        get text () { return text },
        get isEnded () { return isEnded },
        ended,
        waitFor (type, count = 1, timeoutMs = 10_000) {
          const found = () => events.filter(event => event.event === type)
          return new Promise((resolve, reject) => {
            const check = () => {
              if ((counts.get(type) ?? 0) >= count) { finish(); resolve(found()) } else if (isEnded) { finish(); reject(new Error(`the stream ended with ${found().length} of ${count} ${type} events`)) }
            }
            const timer = setTimeout(() => { finish(); reject(new Error(`${found().length} of ${count} ${type} events after ${timeoutMs} ms`)) }, timeoutMs)
            const finish = () => { clearTimeout(timer); waiters.delete(check) }
            waiters.add(check)
            check()
          })
        },
        pause: () => response.pause(),
        resume: () => response.resume(),
        close: () => req.destroy()
      })
    })
    req.on('error', reject)
    req.end()
  })
}

export interface ReceivedChange {
  id: number
  country: string
  city: string
  active: boolean | null
  action: string
  version: number
  changed_at: string
}

/** The change events, their id and parsed `data`. */
export const changesIn = (events: SseEvent[]): ReceivedChange[] =>
  events.filter(event => event.event === 'change').map(event => ({ id: Number(event.id), ...JSON.parse(event.data) as Omit<ReceivedChange, 'id'> }))
