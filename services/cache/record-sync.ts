import type { FastifyBaseLogger } from 'fastify'
import { createEpisodeLog } from '../../logging/episode-log.ts'

/** A durable record of a change, as the sync needs it: ids are handed out in insert order. */
export interface SyncedRecord {
  id: number
}

/** Where the records are read from and purged (the domain's SQL over its own records). */
export interface RecordSource<R extends SyncedRecord> {
  /** Records with an id above `afterId`, in id order, at most `limit`. */
  after (afterId: number, limit: number): Promise<R[]>
  /** The records among these ids that exist now (ids the sync saw skipped: their transactions may have committed since). */
  withIds (ids: number[]): Promise<R[]>
  /** The id below every record younger than `seconds`: where a starting instance begins. */
  startBefore (seconds: number): Promise<number>
  /** Deletes records older than `seconds`, at most `limit`; returns how many went. */
  purge (seconds: number, limit: number): Promise<number>
}

export interface RecordSyncOptions {
  /** How often new records are looked for (CACHE_SYNC_INTERVAL_MS). */
  intervalMs: number
  /** The longest a cached key lives (TTL plus grace): records younger than this are applied on start, older ones purged. */
  keyLifetimeSeconds: number
  log: FastifyBaseLogger
  /** How long an id skipped below the newest seen is looked for again (tests shorten it). */
  gapWaitMs?: number
  /** How many ids, skipped or refused, are looked for again at most (tests shorten it). */
  maxGaps?: number
}

export interface RecordSync {
  /** One pass: applies every record not applied yet. Rejects when MySQL or Redis failed; the next pass tries again. */
  syncNow (): Promise<void>
  /** The largest record id applied so far (0 before the first pass). */
  readonly appliedUpTo: number
  /** Ids skipped below it that are still looked for: open transactions, rolled-back ones, or records Redis refused. */
  readonly awaited: number
  /** Stops the timer and waits for a pass under way. */
  close (): Promise<void>
}

// Enough to catch up after a long outage in a few statements; small enough for one Redis pipeline.
const BATCH = 500
// An id below the newest seen that is not there yet belongs to a transaction still open, or to one
// rolled back (its id is never used). Looked for again on every pass for this long, then given up:
// a change whose transaction stays open longer than this is applied by no sync (the TTL bounds it).
const GAP_WAIT_MS = 60_000
const MAX_GAPS = 10_000
const PURGE_EVERY_MS = 60_000
const PURGE_BATCH = 5000
// Records are purged this long after the last key they could concern has expired.
const PURGE_MARGIN_SECONDS = 60

/**
 * Applies the durable invalidation records the source keeps of every change
 * (here, the triggers on `locations`, db/migrations/005-011), whoever made it: this
 * instance, another one that died before its own invalidation reached
 * Redis, or an administrator's SQL. Every instance runs one; applying is
 * idempotent and never deletes an entry as fresh as the change
 * (record-scripts.ts), so instances need no coordination, and an API write
 * costs one miss, not a second one when its record comes round.
 *
 * It reads records by id. Ids are handed out when a transaction inserts,
 * not when it commits, so a record may appear below the newest id already
 * seen: the skipped ids are looked for again until they appear or
 * the gap wait (60 s) has passed. Nothing advances until Redis has applied
 * it, or has refused it (an error reply about its keys, not an outage): a
 * refused record is then tried again like a skipped id, so it never holds
 * back the records after it.
 */
// Kept whole: its passes, gap list, timer and queue are one state that every step reads and updates.
export function createRecordSync<R extends SyncedRecord> (
  records: RecordSource<R>,
  /** Resolves with the records Redis refused; rejects when it could not be reached. */
  apply: (records: R[]) => Promise<R[]>,
  options: RecordSyncOptions
): RecordSync {
  const gapWaitMs = options.gapWaitMs ?? GAP_WAIT_MS
  const maxGaps = options.maxGaps ?? MAX_GAPS
  let highest: number | undefined
  const gaps = new Map<number, number>()
  let lastPurge = 0
  const unapplied = createEpisodeLog()
  let closed = false
  let timer: NodeJS.Timeout | undefined
  // Passes run one after another: a caller always gets a pass that starts after its call.
  let queue: Promise<void> = Promise.resolve()

  /**
   * A record Redis refused is looked for again like a skipped id: it holds back no other, and is given up after the
   * gap wait, or at once when as many ids are awaited already as the sync keeps.
   */
  function awaitRefused (refused: R[], now: number): void {
    for (const record of refused) {
      if (gaps.size < maxGaps) gaps.set(record.id, now)
      else options.log.error({ record: record.id }, 'Redis refused an invalidation record while too many others are awaited; given up (its keys expire with their TTL)')
    }
  }

  async function applyGaps (): Promise<void> {
    if (gaps.size === 0) return
    const now = Date.now()
    const found = await records.withIds([...gaps.keys()])
    const refused = found.length > 0 ? new Set((await apply(found)).map(record => record.id)) : new Set<number>()
    for (const record of found) if (!refused.has(record.id)) gaps.delete(record.id)
    for (const [id, since] of gaps) {
      if (now - since < gapWaitMs) continue
      gaps.delete(id)
      if (refused.has(id)) options.log.error({ record: id }, 'Redis refused an invalidation record for the whole gap wait; given up (its keys expire with their TTL)')
    }
  }

  async function applyNew (from: number): Promise<number> {
    let upTo = from
    for (;;) {
      const batch = await records.after(upTo, BATCH)
      const refused = batch.length > 0 ? await apply(batch) : []
      const now = Date.now()
      awaitRefused(refused, now)
      for (const record of batch) {
        for (let id = upTo + 1; id < record.id && gaps.size < maxGaps; id++) gaps.set(id, now)
        upTo = record.id
      }
      highest = upTo
      if (batch.length < BATCH) return upTo
    }
  }

  async function purge (): Promise<void> {
    if (Date.now() - lastPurge < PURGE_EVERY_MS) return
    lastPurge = Date.now()
    await records.purge(options.keyLifetimeSeconds + PURGE_MARGIN_SECONDS, PURGE_BATCH)
  }

  async function pass (): Promise<void> {
    // On start, every record young enough to concern a key that may still be cached.
    const from = highest ?? await records.startBefore(options.keyLifetimeSeconds)
    await applyGaps()
    await applyNew(from)
    await purge()
  }

  function syncNow (): Promise<void> {
    const next = queue.then(pass).then(() => {
      unapplied.recovered(() => options.log.info('Invalidation records applied again'))
    }, (error: unknown) => {
      unapplied.failed(() => options.log.warn({ err: error }, 'Could not apply the invalidation records (MySQL or Redis unreachable); trying again'))
      throw error
    })
    queue = next.catch(() => {})
    return next
  }

  function schedule (): void {
    if (closed) return
    timer = setTimeout(() => { syncNow().catch(() => {}).finally(schedule) }, options.intervalMs)
    timer.unref()
  }
  schedule()

  return {
    syncNow,
    get appliedUpTo () { return highest ?? 0 },
    get awaited () { return gaps.size },
    async close () {
      closed = true
      clearTimeout(timer)
      await queue
    }
  }
}
