import type { ChangeFilter, ChangeLog, StoredChange } from './change-log.ts'
import { KEEP_ALIVE, retryHint, type StreamFormat } from './stream-formats.ts'
import { createBatchFrames, filterKey, keysOf, type BatchFrames } from './batch-frames.ts'
import { createSlicedWrites } from './sliced-writes.ts'
import { createSlowConsumers } from './slow-consumers.ts'
import { DatabaseUnavailableError } from '../database/errors.ts'

/** Where a stream's bytes go: an HTTP response (Node's ServerResponse fits). */
export interface StreamOutput {
  write (chunk: string | Buffer): boolean
  /** Bytes written but not yet handed to the kernel. */
  readonly writableLength: number
  /** The other side is gone: a stream opened on it would never be closed. */
  readonly destroyed: boolean
  end (): void
  destroy (): void
  once (event: 'close' | 'drain', listener: () => void): unknown
}

export interface FanOutOptions {
  maxSubscribers: number
  /** Streams one client may hold: without it, one client could take every place. */
  maxPerClient: number
  /** How many changes back a resume may start; beyond it the stream says `reset`. */
  replayMax: number
  maxUnsentBytes: number
  keepAliveMs: number
  retryMs: number
  /**
   * Subscribers written to per turn of the event loop, a couple of milliseconds of writes: with 6,000
   * subscribers, hits during changes had a p99 of 74 ms written in one loop, 43 ms in slices of 1,000,
   * 19 ms in slices of 250 (CHANGE_STREAM_WRITE_SLICE).
   */
  writeSlice: number
}

export interface StreamRequest {
  filter: ChangeFilter
  format: StreamFormat
  /** Whose stream it is (services/auth/client-key.ts): counted against maxPerClient. */
  client: string
  /** The client's Last-Event-ID: undefined without one, null when it is not an id of ours. */
  lastEventId: number | null | undefined
}

/** A subscription whose resume has been read from MySQL: opening it writes and goes live, in one step. */
export interface PreparedStream {
  /** Starts the stream; an output already destroyed, or an instance closing meanwhile, frees the place and ends it. */
  open (out: StreamOutput): void
}

export interface ChangeFanOut {
  /**
   * Reserves a place and reads what a resume missed. Throws a 503 when the
   * instance has as many subscribers as it keeps, is closing, or has not read
   * the change history yet (MySQL unreachable since start).
   */
  prepare (request: StreamRequest): Promise<PreparedStream>
  /** A batch of the feed's changes (at least one), in id order: encoded once per format and filter, and written once to every matching subscriber. */
  deliver (changes: StoredChange[]): void
  /** Subscribers on this instance, those being prepared included. */
  readonly size: number
  /** Subscribers disconnected for not reading their stream. */
  readonly dropped: number
  /** Ends every stream and refuses new ones: the process is closing, clients reconnect elsewhere. */
  endAll (): void
}

interface Subscriber {
  filter: ChangeFilter
  client: string
  format: StreamFormat
  /** The highest id this subscriber has been sent, or has said it has seen: nothing at or below it is sent. */
  sentUpTo: number
  out?: StreamOutput
  /** Changes delivered while the resume was being read, sent once it has been. */
  pending: StoredChange[]
  /** Removed: closed, dropped or ended; a write queued for it is skipped. */
  gone: boolean
  /** The opening's bytes (a replay) not yet read: above the bound by design, not a sign of a slow reader. */
  allowance: number
}

const RETRY_AFTER_SECONDS = 5
// Long enough for a client that reads to take in a burst of thousands of changes; a stalled one is still stalled.
const SLOW_CONSUMER_GRACE_MS = 1000

/** No stream for now: the route answers 503 with Retry-After, and the client tries again (another instance, behind a balancer). */
export class StreamRefusedError extends Error {
  retryAfterSeconds = RETRY_AFTER_SECONDS
}

/**
 * The subscribers of one instance, indexed by filter (everything, a country,
 * a location) so a batch of changes costs a look at the subscribers it may
 * concern, and one write to each. Writes never wait: a subscriber
 * whose unsent output is still above `maxUnsentBytes` a second after it
 * passed it is disconnected (it resumes with Last-Event-ID). A batch's
 * frames are one Buffer per format and filter, shared by the subscribers'
 * queues, so a bulk change costs references, not copies.
 */
// Kept whole: the subscriber sets, the resume and the keep-alive are one state every step reads and updates (writes and slow readers have their own files).
export function createChangeFanOut (changes: ChangeLog, position: () => number | undefined, options: FanOutOptions): ChangeFanOut {
  // filterKey() -> its subscribers.
  const sets = new Map<string, Set<Subscriber>>()
  let count = 0
  let closing = false
  // Client -> its subscribers.
  const perClient = new Map<string, number>()

  const setOf = (filter: ChangeFilter): Set<Subscriber> => {
    const key = filterKey(filter)
    let set = sets.get(key)
    if (set === undefined) sets.set(key, set = new Set())
    return set
  }

  function remove (subscriber: Subscriber): void {
    subscriber.gone = true
    // Looked up, not made: a subscriber removed twice (dropped as slow, then closed) leaves no empty set behind.
    const set = sets.get(filterKey(subscriber.filter))
    if (set?.delete(subscriber) !== true) return
    count--
    const held = perClient.get(subscriber.client)! - 1
    if (held === 0) perClient.delete(subscriber.client)
    else perClient.set(subscriber.client, held)
    if (set.size === 0) sets.delete(filterKey(subscriber.filter))
  }

  const slow = createSlowConsumers<Subscriber>({
    excess: subscriber => subscriber.out!.writableLength - options.maxUnsentBytes - subscriber.allowance,
    present: subscriber => !subscriber.gone,
    drop (subscriber) {
      remove(subscriber)
      subscriber.out!.destroy()
    },
    graceMs: SLOW_CONSUMER_GRACE_MS
  })

  function write (subscriber: Subscriber, out: StreamOutput, chunk: string | Buffer): void {
    out.write(chunk)
    slow.wrote(subscriber)
  }

  function send (subscriber: Subscriber, change: StoredChange, frame: Buffer): void {
    if (change.id <= subscriber.sentUpTo) return
    subscriber.sentUpTo = change.id
    write(subscriber, subscriber.out!, frame)
  }

  async function prepare (request: StreamRequest): Promise<PreparedStream> {
    const latest = position()
    if (closing) throw new StreamRefusedError('This instance is closing; reconnect in a moment')
    if (count >= options.maxSubscribers) throw new StreamRefusedError(`This instance streams to ${options.maxSubscribers} subscribers already; try again later`)
    if ((perClient.get(request.client) ?? 0) >= options.maxPerClient) throw new StreamRefusedError(`This client has ${options.maxPerClient} streams open on this instance already; close one, or try again later`)
    if (latest === undefined) throw new DatabaseUnavailableError('The change history cannot be read yet; try again in a few seconds')
    const { lastEventId, client } = request
    perClient.set(client, (perClient.get(client) ?? 0) + 1)
    const subscriber: Subscriber = { filter: request.filter, client, format: request.format, sentUpTo: lastEventId ?? latest, pending: [], gone: false, allowance: 0 }
    setOf(request.filter).add(subscriber)
    count++
    let resume = ''
    try {
      if (lastEventId === null || (lastEventId !== undefined && latest - lastEventId > options.replayMax)) {
        resume = request.format.reset(latest)
        subscriber.sentUpTo = latest
      } else if (lastEventId !== undefined && lastEventId < latest) {
        resume = request.format.replay(await changes.between(lastEventId, latest, request.filter, options.replayMax), latest)
        subscriber.sentUpTo = latest
      }
      if (typeof lastEventId === 'number' && lastEventId > latest && lastEventId > await changes.latestId()) {
        // Not an id any instance has streamed (another one may be ahead of this one): it would silence the stream.
        resume = request.format.reset(latest)
        subscriber.sentUpTo = latest
      }
    } catch (error) {
      remove(subscriber)
      throw error
    }
    // endAll() ran while the resume was read: this stream would keep the closing process waiting.
    if (closing) {
      remove(subscriber)
      throw new StreamRefusedError('This instance is closing; reconnect in a moment')
    }
    return {
      open (out) {
        // The client left while its resume was read: its 'close' has fired already, and would never free the place.
        if (out.destroyed || subscriber.gone) {
          remove(subscriber)
          out.end()
          return
        }
        subscriber.out = out
        out.once('close', () => remove(subscriber))
        // A replay (up to CHANGE_STREAM_REPLAY_MAX changes) may be far above the bound: the reader gets until it has read it.
        out.write(retryHint(options.retryMs) + request.format.opening(latest, lastEventId !== undefined) + resume)
        subscriber.allowance = out.writableLength
        out.once('drain', () => { subscriber.allowance = 0 })
        const { pending } = subscriber
        subscriber.pending = []
        for (const change of pending) send(subscriber, change, request.format.live(change))
      }
    }
  }

  const writes = createSlicedWrites<Subscriber>(options.writeSlice)

  function deliverTo (subscriber: Subscriber, frames: BatchFrames, lastId: number): void {
    if (subscriber.gone) return
    if (subscriber.out === undefined) {
      subscriber.pending.push(...frames.matching(subscriber.filter))
      return
    }
    const chunk = frames.chunk(subscriber.format, subscriber.filter, subscriber.sentUpTo)
    if (chunk === undefined) return
    subscriber.sentUpTo = Math.max(subscriber.sentUpTo, lastId)
    write(subscriber, subscriber.out, chunk)
  }

  const everyone = (): Subscriber[] => [...sets.values()].flatMap(set => [...set])

  const keepAlive = setInterval(() => {
    writes.enqueue(everyone(), subscriber => { if (subscriber.out !== undefined && !subscriber.gone) write(subscriber, subscriber.out, KEEP_ALIVE) })
  }, options.keepAliveMs)
  keepAlive.unref()

  return {
    prepare,
    deliver (batch) {
      const keys = new Set(batch.flatMap(keysOf))
      const subscribers = [...keys].flatMap(key => [...sets.get(key) ?? []])
      const frames = createBatchFrames(batch)
      const lastId = batch.at(-1)!.id
      writes.enqueue(subscribers, subscriber => deliverTo(subscriber, frames, lastId))
    },
    get size () { return count },
    get dropped () { return slow.dropped },
    endAll () {
      closing = true
      clearInterval(keepAlive)
      slow.stop()
      writes.clear()
      for (const subscriber of everyone()) {
        subscriber.gone = true
        subscriber.out?.end()
      }
    }
  }
}
