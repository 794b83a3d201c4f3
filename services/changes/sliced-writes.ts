/** Runs queued work over lists of items, a slice of items per turn of the event loop, in order. */
export interface SlicedWrites<T> {
  /** Queues `run` for every item of `items`, after the work queued before. */
  enqueue (items: T[], run: (item: T) => void): void
  /** Drops the work not done yet. */
  clear (): void
}

interface Job<T> {
  items: T[]
  next: number
  run: (item: T) => void
}

/**
 * The first slice runs at once, the rest after whatever requests arrived
 * meanwhile: a cache hit waits behind one slice, not behind a change sent to
 * every subscriber. Each job reaches every item before the next job starts,
 * so an item sees the jobs in the order they were queued.
 */
export function createSlicedWrites<T> (slice: number): SlicedWrites<T> {
  const jobs: Array<Job<T>> = []
  let pumping = false

  function pump (): void {
    let budget = slice
    while (jobs.length > 0 && budget > 0) {
      const job = jobs[0]!
      while (job.next < job.items.length && budget-- > 0) job.run(job.items[job.next++]!)
      if (job.next === job.items.length) jobs.shift()
    }
    pumping = jobs.length > 0
    if (pumping) setImmediate(pump)
  }

  return {
    enqueue (items, run) {
      jobs.push({ items, next: 0, run })
      if (!pumping) pump()
    },
    clear () {
      jobs.length = 0
    }
  }
}
