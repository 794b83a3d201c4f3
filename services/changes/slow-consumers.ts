/** Finds the subscribers that do not read their stream. */
export interface SlowConsumers<S> {
  /** After a write to `subscriber`: above the bound, it is looked at again after the grace. */
  wrote (subscriber: S): void
  /** Subscribers dropped so far. */
  readonly dropped: number
  stop (): void
}

export interface SlowConsumerOptions<S> {
  /** How far above the bound a subscriber's unsent output is now (0 or less: within it). */
  excess (subscriber: S): number
  /** Whether the subscriber is still there to be dropped. */
  present (subscriber: S): boolean
  drop (subscriber: S): void
  graceMs: number
}

/**
 * A burst (a bulk change) fills every subscriber's buffers at once: only those still above the
 * bound a moment after passing it are slow, and dropped (they resume with Last-Event-ID).
 */
export function createSlowConsumers<S> ({ excess, present, drop, graceMs }: SlowConsumerOptions<S>): SlowConsumers<S> {
  const behind = new Set<S>()
  let check: NodeJS.Timeout | undefined
  let dropped = 0

  function dropThoseStillBehind (): void {
    check = undefined
    for (const subscriber of behind) {
      if (excess(subscriber) <= 0 || !present(subscriber)) continue
      dropped++
      drop(subscriber)
    }
    behind.clear()
  }

  return {
    wrote (subscriber) {
      if (excess(subscriber) <= 0 || behind.has(subscriber)) return
      behind.add(subscriber)
      check ??= setTimeout(dropThoseStillBehind, graceMs).unref()
    },
    get dropped () { return dropped },
    stop () {
      clearTimeout(check)
    }
  }
}
