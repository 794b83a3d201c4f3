import type { FastifyBaseLogger } from 'fastify'
import type { ChangeLog, StoredChange } from './change-log.ts'
import { createEpisodeLog } from '../../logging/episode-log.ts'

export interface ChangeFeedOptions {
  /**
   * How often skipped ids are looked for again, and a failed pass tried again (CACHE_SYNC_INTERVAL_MS).
   * New changes are looked for when woken: by a write's announcement, or by the record sync reading
   * the invalidation record every change writes beside its history row.
   */
  intervalMs: number
  /** How long an id skipped by a later one holds the later ones back (CHANGE_STREAM_GAP_WAIT_MS). */
  gapWaitMs: number
  log: FastifyBaseLogger
}

export interface ChangeFeed {
  /** Looks for new changes soon: a writer announced one. Announcements during a pass make one more pass, not one each. */
  wake (): void
  /** One pass, starting after the call. Rejects when MySQL could not be read; the next pass tries again. */
  pollNow (): Promise<void>
  /**
   * Every change with an id up to this one has been delivered, or given up: where a new subscriber's
   * stream starts. Undefined until MySQL has answered once.
   */
  readonly deliveredUpTo: number | undefined
  /** The same as a gauge reads it: 0 until MySQL has answered. */
  readonly streamedUpTo: number
  /** Ids skipped by a later one and still waited for. */
  readonly awaited: number
  /** Ids given up after the gap wait: rolled back, or committed too late to be streamed. */
  readonly givenUp: number
  /** Stops the timer and waits for a pass under way. */
  close (): Promise<void>
}

// Enough to catch up after a long outage in a few statements.
const BATCH = 500
// A burst of rolled-back ids is bounded too: beyond this many, skipped ids are not waited for.
const MAX_GAPS = 10_000

/**
 * Reads `location_changes` (written by the triggers in every change's own
 * transaction, whoever made it) in id order and hands each change to
 * `deliver` once, in id order. Ids are taken when a transaction inserts,
 * not when it commits, so a change may appear below one already read: a
 * change after a skipped id is held back until the skipped id appears or
 * the gap wait has passed (a rolled-back transaction's id never appears).
 * So a stream never carries an id above one that may still commit, and a
 * client resuming from the last id it saw misses nothing.
 */
// Kept whole: its passes, gap list, held changes, timer and queue are one state that every step reads and updates.
export function createChangeFeed (
  changes: ChangeLog,
  deliver: (changes: StoredChange[]) => void,
  options: ChangeFeedOptions
): ChangeFeed {
  let readUpTo: number | undefined
  let deliveredUpTo: number | undefined
  // Skipped id -> when it was first missed.
  const gaps = new Map<number, number>()
  // Read but not delivered: above a skipped id.
  const held = new Map<number, StoredChange>()
  const unreadable = createEpisodeLog()
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let queue: Promise<void> = Promise.resolve()
  let queued: Promise<void> | undefined
  let lastPassFailed = false
  let givenUp = 0

  function hold (change: StoredChange, from: number, now: number): void {
    for (let id = from + 1; id < change.id && gaps.size < MAX_GAPS; id++) gaps.set(id, now)
    held.set(change.id, change)
  }

  async function readNew (from: number, now: number): Promise<number> {
    let upTo = from
    for (;;) {
      const batch = await changes.after(upTo, BATCH)
      for (const change of batch) {
        hold(change, upTo, now)
        upTo = change.id
      }
      if (batch.length < BATCH) return upTo
    }
  }

  async function fillGaps (now: number): Promise<void> {
    if (gaps.size === 0) return
    for (const change of await changes.withIds([...gaps.keys()])) {
      gaps.delete(change.id)
      held.set(change.id, change)
    }
    for (const [id, since] of gaps) {
      if (now - since < options.gapWaitMs) continue
      gaps.delete(id)
      givenUp++
      // Warn: a rolled-back write looks the same, but a change committed later than this is never streamed.
      options.log.warn({ change: id, gapWaitMs: options.gapWaitMs }, 'A change id was not committed within the gap wait (rolled back, or committed too late to be streamed); the changes after it are streamed')
    }
  }

  /** Delivers, in id order, every held change below the first id still awaited; on start, only drops them (no one subscribed before). */
  function release (upTo: number, starting = false): void {
    const firstGap = gaps.size === 0 ? Infinity : Math.min(...gaps.keys())
    const ready = [...held.values()].filter(change => change.id < firstGap).sort((a, b) => a.id - b.id)
    for (const change of ready) held.delete(change.id)
    deliveredUpTo = firstGap === Infinity ? upTo : firstGap - 1
    if (ready.length > 0 && !starting) deliver(ready)
  }

  /**
   * On start, from the newest change: a stream carries what happens from now on, and resumes from
   * MySQL. An id missing just below it may belong to a transaction still open: it is awaited like
   * any gap, from when the change above it was made, so a hole older than the gap wait is not.
   */
  async function start (): Promise<void> {
    const latest = await changes.latestId()
    const now = Date.now()
    let upTo = Math.max(0, latest - BATCH)
    for (const change of await changes.after(upTo, BATCH)) {
      const since = Date.parse(change.changedAt)
      if (now - since < options.gapWaitMs) hold(change, upTo, since)
      upTo = change.id
    }
    readUpTo = upTo
    release(upTo, true)
  }

  async function pass (): Promise<void> {
    if (readUpTo === undefined) return start()
    const now = Date.now()
    await fillGaps(now)
    readUpTo = await readNew(readUpTo, now)
    release(readUpTo)
  }

  function pollNow (): Promise<void> {
    // A pass that has not started yet serves every caller that comes before it starts.
    if (queued !== undefined) return queued
    const next = queue.then(() => {
      queued = undefined
      return pass()
    }).then(() => {
      lastPassFailed = false
      unreadable.recovered(() => options.log.info('Change stream: MySQL\'s change history read again'))
    }, (error: unknown) => {
      lastPassFailed = true
      unreadable.failed(() => options.log.warn({ err: error }, 'Change stream: could not read MySQL\'s change history; trying again'))
      throw error
    })
    queued = next
    queue = next.catch(() => {})
    return next
  }

  /** A timer pass only when one is owed: before MySQL first answered, after a failed pass, or while ids are awaited. */
  const owed = (): boolean => readUpTo === undefined || lastPassFailed || gaps.size > 0

  function schedule (): void {
    if (closed) return
    timer = setTimeout(() => { (owed() ? pollNow() : Promise.resolve()).catch(() => {}).finally(schedule) }, options.intervalMs)
    timer.unref()
  }
  schedule()

  return {
    wake () {
      if (!closed) pollNow().catch(() => {})
    },
    pollNow,
    get deliveredUpTo () { return deliveredUpTo },
    get streamedUpTo () { return deliveredUpTo ?? 0 },
    get awaited () { return gaps.size },
    get givenUp () { return givenUp },
    async close () {
      closed = true
      clearTimeout(timer)
      await queue
    }
  }
}
