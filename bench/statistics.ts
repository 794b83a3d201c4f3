/** Collects latencies in milliseconds at full resolution: autocannon's histogram keeps whole milliseconds, too coarse at 1–5 ms. */
export class LatencyRecorder {
  #values = new Float64Array(1 << 16)
  #count = 0

  record (ms: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2)
      grown.set(this.#values)
      this.#values = grown
    }
    this.#values[this.#count++] = ms
  }

  /** Nearest-rank percentiles, e.g. percentiles([50, 99]). */
  percentiles (ranks: number[]): number[] {
    const sorted = this.#values.slice(0, this.#count).sort()
    return ranks.map(rank => sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(rank / 100 * sorted.length) - 1)] as number)
  }
}

/** The middle value; for an even count, the mean of the two middle ones. */
export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}
