const CACHE_OUTCOME = /"redis_cache":"([a-z]+)"/

/**
 * What came back, by kind of request: status codes and the `redis_cache`
 * field of GET answers. Scenarios declare what they expect; anything else
 * is unexpected and fails the bench.
 */
export class ResponseTally {
  readonly statuses: Record<string, number> = {}
  readonly cacheOutcomes: Record<string, number> = {}

  record (kind: 'GET' | 'PUT', status: number, body: string): void {
    const key = `${kind} ${status}`
    this.statuses[key] = (this.statuses[key] ?? 0) + 1
    if (kind !== 'GET') return
    // A regular expression rather than JSON.parse: the same small cost for the bare server and for ours.
    const outcome = CACHE_OUTCOME.exec(body)?.[1] ?? 'none'
    this.cacheOutcomes[outcome] = (this.cacheOutcomes[outcome] ?? 0) + 1
  }

  /** Responses whose kind and status are not in `expected`, described for a person. */
  unexpected (expected: string[]): string[] {
    return Object.entries(this.statuses)
      .filter(([key]) => !expected.includes(key))
      .map(([key, count]) => `${count} × ${key}`)
  }
}

/** Share of `key` among counts, e.g. share(tally.cacheOutcomes, 'miss'). */
export function share (counts: Record<string, number>, key: string): number {
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0)
  return total === 0 ? 0 : (counts[key] ?? 0) / total
}
