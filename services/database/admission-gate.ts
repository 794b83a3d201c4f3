import { DatabaseUnavailableError } from './errors.ts'

/** Why a request was refused before it reached MySQL. */
export type ShedReason = 'wait_estimate' | 'deadline'

export interface Slot {
  /** How long the request queued for this slot, in milliseconds. */
  readonly waitedMs: number
  /** Gives the slot back; the duration since it was taken teaches the gate how long MySQL takes. */
  leave (): void
}

export interface AdmissionGate {
  /**
   * Resolves with a slot once one is free, in arrival order. Rejects
   * (DatabaseUnavailableError, with a Retry-After) when the deadline (epoch
   * ms) passes while it waits and, unless `patient`, at once when the queue
   * ahead means it cannot be served before its deadline.
   */
  enter (deadline: number, options?: EntryOptions): Promise<Slot>
  /** Slots taken: statements on their way, connections in use. */
  readonly inUse: number
  /** Whether a request entering now would run at once. */
  readonly hasFreeSlot: boolean
  /** Requests waiting for a slot. */
  readonly waiting: number
  readonly shed: Readonly<Record<ShedReason, number>>
  /** What the gate expects one statement to take now, in milliseconds. */
  readonly serviceEstimateMs: number
  /** Refuses whoever waits and whoever comes: the pool is about to close. */
  close (): void
}

export interface EntryOptions {
  /** Refused only by its deadline, never on an estimate (writes). */
  patient?: boolean
  /** How many requests this entry stands for (a batch of reads), for the shed counts. */
  requests?: () => number
}

interface Outlook {
  estimate: number
  /** In how long each slot comes free, soonest first: 0 for a free one. */
  freeIn: number[]
}

interface Waiter {
  deadline: number
  patient: boolean
  requests: () => number
  enqueuedAt: number
  admit (slot: Slot): void
  refuse (error: DatabaseUnavailableError): void
}

// Weight of the newest statement in the running estimate: a few slow answers move it, one outlier does not.
const SMOOTHING = 0.3
const one = () => 1
// How far the statements in flight must bear out a slow history before it counts: a tenth of it.
const CORROBORATION = 10
// While requests wait, how often their chances are judged again against what MySQL is doing now.
const REVIEW_MS = 25

/**
 * Admission control in front of the MySQL pool: one slot per pooled
 * connection, so the pool never queues and never opens more connections
 * than it holds, and a FIFO queue whose every entry is judged by a
 * queue-wait estimate: the time one statement takes now times the rounds
 * of the queue ahead, less what the statements in flight have already run
 * of theirs. While every slot is busy, one statement is expected
 * to take at least as long as the youngest in flight has been running, and
 * as long as the recent ones took (a smoothed average) once the youngest
 * has run for a tenth of that: a slow history is believed only while
 * MySQL is still slow. A request that could not get its turn before its
 * deadline is refused at once with 503 instead of waiting out its budget;
 * a request that finds a free slot always runs, so a stale, pessimistic
 * estimate can never shut MySQL out. Writes are patient: an estimate never
 * refuses them, only their own (longer) deadline does.
 */
// Kept whole: its queue, slots, smoothed average and review timer are one state that every step reads and updates.
export function createAdmissionGate (slots: number): AdmissionGate {
  const queue: Waiter[] = []
  // Start time of every statement holding a slot, by slot number.
  const running = new Map<number, number>()
  let slotNumber = 0
  const shed: Record<ShedReason, number> = { wait_estimate: 0, deadline: 0 }
  let averageMs = 0
  let reviewTimer: NodeJS.Timeout | undefined
  let closed = false
  const closing = () => new DatabaseUnavailableError('The service is shutting down; try another instance', { retryAfterSeconds: 1 })

  function serviceEstimateMs (now = Date.now()): number {
    if (running.size < slots) return averageMs
    let youngestStart = 0
    for (const started of running.values()) youngestStart = Math.max(youngestStart, started)
    const age = now - youngestStart
    // History alone never refuses anyone: MySQL may be fast again. It counts once the statements in flight bear it out.
    return Math.max(age, Math.min(averageMs, age * CORROBORATION))
  }

  /**
   * What a request's prospects are judged by: how long one statement takes now, and in how long
   * each slot comes free, soonest first. A statement in flight is expected to take the estimate in
   * all, so one that has run a while has that much less to go: a queue behind a wave of statements
   * about to finish is served soon. One past the estimate is taken to be finishing; were MySQL
   * stalled, the estimate itself grows with the age of the youngest statement in flight.
   */
  function outlook (now: number): Outlook {
    const estimate = serviceEstimateMs(now)
    const freeIn = Array<number>(slots - running.size).fill(0)
    for (const started of running.values()) freeIn.push(Math.max(0, estimate - (now - started)))
    return { estimate, freeIn: freeIn.sort((a, b) => a - b) }
  }

  /** How long a request with `ahead` others before it would wait for its answer: its turn, then its statement. */
  const expectedMs = (ahead: number, { estimate, freeIn }: Outlook) =>
    Math.floor(ahead / slots) * estimate + (freeIn[ahead % slots] as number) + estimate

  function refusal (reason: ShedReason, budgetMs: number, prospects: Outlook, requests: () => number): DatabaseUnavailableError {
    shed[reason] += requests()
    const retryAfterSeconds = Math.max(1, Math.ceil(expectedMs(queue.length, prospects) / 1000))
    const message = reason === 'deadline'
      ? `MySQL is busy: this request was not run, no connection came free within ${budgetMs} ms; try again shortly`
      : `MySQL is busy: this request was not run, it could not be answered within ${budgetMs} ms; try again shortly`
    return new DatabaseUnavailableError(message, { retryAfterSeconds })
  }

  function takeSlot (enqueuedAt: number, started = Date.now()): Slot {
    const key = ++slotNumber
    running.set(key, started)
    return {
      waitedMs: started - enqueuedAt,
      leave () {
        if (!running.delete(key)) return
        const tookMs = Date.now() - started
        averageMs = averageMs === 0 ? tookMs : averageMs + SMOOTHING * (tookMs - averageMs)
        dispatch()
      }
    }
  }

  /** Hands free slots to the queue's head, refusing whoever can no longer be answered in time. */
  function dispatch (): void {
    const now = Date.now()
    // Judged only once every slot is taken, which admissions below may bring about.
    let prospects: Outlook | undefined
    for (let index = 0; index < queue.length;) {
      const waiter = queue[index] as Waiter
      const budgetMs = waiter.deadline - waiter.enqueuedAt
      if (now >= waiter.deadline) {
        queue.splice(index, 1)
        waiter.refuse(refusal('deadline', budgetMs, outlook(now), waiter.requests))
      } else if (running.size < slots) {
        queue.splice(index, 1)
        waiter.admit(takeSlot(waiter.enqueuedAt))
      } else if (!waiter.patient && now + expectedMs(index, prospects ??= outlook(now)) > waiter.deadline) {
        queue.splice(index, 1)
        waiter.refuse(refusal('wait_estimate', budgetMs, prospects, waiter.requests))
      } else {
        index++
      }
    }
    scheduleReview()
  }

  function scheduleReview (): void {
    if (queue.length === 0) {
      clearTimeout(reviewTimer)
      reviewTimer = undefined
    } else if (reviewTimer === undefined) {
      // Not unref'd: it runs only while requests wait, and they must get their answer.
      reviewTimer = setTimeout(() => { reviewTimer = undefined; dispatch() }, REVIEW_MS)
    }
  }

  return {
    enter (deadline, { patient = false, requests = one } = {}) {
      if (closed) return Promise.reject(closing())
      const now = Date.now()
      if (running.size < slots && queue.length === 0) return Promise.resolve(takeSlot(now, now))
      const prospects = outlook(now)
      if (!patient && now + expectedMs(queue.length, prospects) > deadline) {
        return Promise.reject(refusal('wait_estimate', deadline - now, prospects, requests))
      }
      return new Promise<Slot>((resolve, reject) => {
        queue.push({ deadline, patient, requests, enqueuedAt: now, admit: resolve, refuse: reject })
        dispatch()
      })
    },
    get inUse () { return running.size },
    get hasFreeSlot () { return running.size < slots && queue.length === 0 },
    get waiting () { return queue.length },
    shed,
    get serviceEstimateMs () { return serviceEstimateMs() },
    close () {
      closed = true
      for (const waiter of queue.splice(0)) waiter.refuse(closing())
      scheduleReview()
    }
  }
}
