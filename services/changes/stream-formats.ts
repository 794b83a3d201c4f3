import type { ChangeEvent } from '../../schemas/change-stream.ts'
import type { StoredChange } from './change-log.ts'

/**
 * What one kind of stream says, as Server-Sent Events text
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html): how it
 * opens, what a resume replays, what it says when the resume point is too
 * old, and one live change. A live change is encoded once per format, for
 * every subscriber of that format.
 */
export interface StreamFormat {
  /** The first event. `resumed`: the client sent Last-Event-ID, which the opening must not move. */
  opening (latest: number, resumed: boolean): string
  /** The changes a resume missed (possibly none), up to `latest`. */
  replay (changes: StoredChange[], latest: number): string
  /** The resume point is too old to replay: the client reads the state again, and goes on from `latest`. */
  reset (latest: number): string
  live (change: StoredChange): Buffer
}

/** A comment line: keeps idle connections (and the proxies on the way) from timing out. */
export const KEEP_ALIVE = Buffer.from(': keep-alive\n\n')

export const retryHint = (ms: number): string => `retry: ${ms}\n\n`

const changeEvent = (change: StoredChange): string => `id: ${change.id}\nevent: change\ndata: ${JSON.stringify({
  country: change.country,
  city: change.city,
  active: change.active,
  action: change.action,
  version: change.version,
  changed_at: change.changedAt
} satisfies ChangeEvent)}\n\n`

/** GET /active/events: one `change` event per change; `hello` and `reset` carry the newest id. */
export const changeFormat: StreamFormat = {
  // A resumed stream's opening carries no id: the client's Last-Event-ID stays the point it resumes from.
  opening: (latest, resumed) => `${resumed ? '' : `id: ${latest}\n`}event: hello\ndata: {"latest_id":${latest}}\n\n`,
  replay: changes => changes.map(changeEvent).join(''),
  reset: latest => `id: ${latest}\nevent: reset\ndata: {"latest_id":${latest}}\n\n`,
  live: change => Buffer.from(changeEvent(change))
}

/**
 * OFREP's event stream (the protocol's ADR 0008): a notification, not the
 * data: `refetchEvaluation` tells the provider to evaluate again. A resume
 * that missed changes, or one too old to tell, gets one such message.
 */
const refetch = (id: number, lastModified?: string): string => {
  const seconds = lastModified === undefined ? '' : `,"lastModified":${Math.floor(Date.parse(lastModified) / 1000)}`
  return `id: ${id}\nevent: message\ndata: {"type":"refetchEvaluation"${seconds}}\n\n`
}

export const refetchFormat: StreamFormat = {
  // An event of an id alone sets the client's Last-Event-ID without dispatching anything.
  opening: (latest, resumed) => resumed ? ': connected\n\n' : `id: ${latest}\n\n`,
  replay: (changes, latest) => changes.length === 0 ? '' : refetch(latest, changes.at(-1)!.changedAt),
  reset: latest => refetch(latest),
  live: change => Buffer.from(refetch(change.id, change.changedAt))
}
