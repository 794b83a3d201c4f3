/** Cancels a deadline: it will not expire. */
export type CancelDeadline = () => void

export interface Deadlines {
  /** Calls `expire` once `at` (epoch ms) has passed, unless cancelled first. */
  watch (at: number, expire: () => void): CancelDeadline
}

/**
 * Many deadlines, one timer: while any is pending, an interval of `tickMs`
 * expires those whose time has come, so a deadline expires up to a tick
 * late. Each statement had two timers of its own (its caller's budget, and
 * the write budget that judges its connection broken); starting and
 * clearing them cost a miss more than the rest of its bookkeeping. The
 * interval runs only while deadlines are pending, and holds the process
 * open as their timers did.
 */
export function createDeadlines (tickMs: number): Deadlines {
  const pending = new Set<{ at: number, expire: () => void }>()
  let timer: NodeJS.Timeout | undefined

  function expireDue (): void {
    const now = Date.now()
    for (const deadline of pending) {
      if (now < deadline.at) continue
      pending.delete(deadline)
      deadline.expire()
    }
    if (pending.size > 0) return
    clearInterval(timer)
    timer = undefined
  }

  return {
    watch (at, expire) {
      const deadline = { at, expire }
      pending.add(deadline)
      timer ??= setInterval(expireDue, tickMs)
      return () => { pending.delete(deadline) }
    }
  }
}
