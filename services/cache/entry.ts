import type { MemberedKeys, VersionedKeys } from './keys.ts'

/** Where an answer came from: Redis, the source after a miss, the source alone (Redis unusable), or the stale copy (source down). */
export type CacheOutcome = 'hit' | 'miss' | 'bypass' | 'stale'

export interface CacheRead<T> {
  /** undefined for "not found", cached for the negative TTL. */
  value: T | undefined
  outcome: CacheOutcome
}

interface EntryBase<T> {
  /** Names the entry in this process: single flights, and the test seam. */
  name: string
  /** The value key alone: all a hit reads. */
  valueKey: string
  /** Reads it from the source of truth; undefined for "not found". */
  load: () => Promise<T | undefined>
  /** Whether a write to it is still owed to Redis: then nothing read from the source may be cached. */
  isPending: () => boolean
  /** The value as stored: the protocol never looks inside. */
  encode: (value: T) => string
  /**
   * Turns a stored value back into T. `fill` names the fill that wrote it, when known: an entry
   * made of members may keep what it decoded under that name, and `recall` it.
   */
  decode: (cached: string, fill: string | undefined) => T
}

/** An entry holding one value at a version: a fill older than a record's floor is refused. */
export interface VersionedEntry<T> extends EntryBase<T> {
  /** All its keys, built only after a miss. */
  keys: () => VersionedKeys
  /** The version a fill holds, compared with the floor; -1 for "not found". */
  version: (value: T | undefined) => number
}

/** An entry made of members, whose versions are stored beside the value: a record about one is checked without reading it. */
export interface MemberedEntry<T> extends EntryBase<T> {
  keys: () => MemberedKeys
  /** The members hash alone, for the hot path: its field '' names the fill that wrote the value (lease-scripts.ts). */
  membersKey: string
  /** Member, version pairs of a value. */
  members: (value: T | undefined) => Array<string | number>
  /** What was decoded from, or filled by, that fill if still kept: a hit then reads no value. */
  recall: (fill: string) => T | undefined
  /** Called with what this process filled, under its fill's name. */
  remember: (fill: string, value: T | undefined) => void
}

/** One cached answer, as its owner describes it: the protocol moves its encoded value under the keys it is given. */
export type CacheEntry<T> = VersionedEntry<T> | MemberedEntry<T>

// "Not found" is stored as JSON null, whatever the entry's encoding: the record scripts recognise it.
const NOT_FOUND = 'null'

export function encodeValue<T> (entry: CacheEntry<T>, value: T | undefined): string {
  return value === undefined ? NOT_FOUND : entry.encode(value)
}

export function decodeValue<T> (entry: CacheEntry<T>, cached: string, fill?: string): T | undefined {
  return cached === NOT_FOUND ? undefined : entry.decode(cached, fill)
}
