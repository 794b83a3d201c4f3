/**
 * Cached values decoded once: the same bytes give back the same object, so
 * whatever a reader derives from it (an encoded answer, its tag) is derived
 * once per value, not once per hit. Safe because a value names its whole
 * content (a location's JSON holds its version) and callers never change a
 * decoded value. Bounded: past `max` values, the oldest is forgotten.
 */
export function createDecodedValues<T> (max: number, decode: (cached: string) => T): (cached: string) => T {
  const decoded = new Map<string, T>()
  return cached => {
    if (decoded.has(cached)) return decoded.get(cached) as T
    const value = decode(cached)
    if (decoded.size >= max) decoded.delete(decoded.keys().next().value as string)
    decoded.set(cached, value)
    return value
  }
}
