/** Concurrent callers with the same key share one call; a key's flight can be ended early (a write). */
export interface SingleFlight<T> {
  join (key: string, run: () => Promise<T>): Promise<T>
  /** Later callers start a call of their own; the one under way still answers its callers. */
  end (key: string): void
}

export function createSingleFlight<T> (): SingleFlight<T> {
  const flights = new Map<string, Promise<T>>()
  return {
    join (key, run) {
      let flight = flights.get(key)
      if (flight === undefined) {
        const started = run().finally(() => {
          if (flights.get(key) === started) flights.delete(key)
        })
        flights.set(key, started)
        flight = started
      }
      return flight
    },
    end (key) {
      flights.delete(key)
    }
  }
}
