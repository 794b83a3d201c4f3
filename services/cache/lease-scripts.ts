import type { EntryKeys, MemberedKeys, VersionedKeys } from './keys.ts'
import type { RedisClient } from './redis-client.ts'
import { defineScript, type ScriptArg } from './scripts.ts'

// Each script touches the keys of one entry (keys.ts), which share a hash tag, so it only ever touches
// one Redis Cluster slot: KEYS[1] = value, KEYS[2] = stale, KEYS[3] = lease, then the entry's own
// check: a floor (versioned entries) or a members hash (entries made of members).

/**
 * After a plain GET of the value missed: returns {'hit', value} if a fill
 * landed meanwhile; otherwise tries to take the fill lease and returns
 * {'lease', staleValue} when taken, {'wait', staleValue} when another reader
 * holds it.
 */
const READ = `
local value = redis.call('GET', KEYS[1])
if value then
  return {'hit', value}
end
local stale = redis.call('GET', KEYS[2])
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'lease', stale}
end
return {'wait', stale}
`

/**
 * Stores an answer only while the reader still holds its lease. Every write
 * deletes the lease, so a reader that read MySQL before a write can never
 * cache what it read (no stale set). A change made outside the API leaves
 * the lease to its holder, but its record sets the floor (KEYS[4],
 * `version:deleted`): the fill lands only if it holds that version or a
 * later one, or "not found" after a delete; otherwise the lease is given
 * up, so the next reader reads MySQL again. ARGV: token, value, fresh ms,
 * kept ms (no stale copy when they are equal), the value's version (-1 for
 * "not found"). Returns 1 when stored.
 */
const LEASE_CHECK = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return 0
end
`
const FLOOR_CHECK = `
local floor = redis.call('GET', KEYS[4])
if floor then
  local version, deleted = string.match(floor, '^(%d+):([01])$')
  local mine = tonumber(ARGV[5])
  if not ((mine < 0 and deleted == '1') or mine >= tonumber(version)) then
    redis.call('DEL', KEYS[3])
    return 0
  end
end
`
const STORE = `
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if tonumber(ARGV[4]) > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
else
  redis.call('DEL', KEYS[2])
end
redis.call('DEL', KEYS[3])
`
const FILL_ABOVE_FLOOR = LEASE_CHECK + FLOOR_CHECK + STORE + 'return 1'

/**
 * The same for an entry made of members (a country's list), with KEYS[4] the hash of their
 * versions, replaced as a whole, and no floor (a record about it deletes its lease instead):
 * ARGV from 5 on are member, version pairs. Its field '' names
 * this fill (its token), so a reader that decoded this value already need not read it again
 * (services/cache/read-through.ts). It expires at the value's very millisecond: that is how
 * a hash is known to be its value's (FILL_NAME). HSET takes the pairs in chunks: Lua's unpack
 * cannot spread thousands of arguments at once.
 */
const FILL_WITH_MEMBERS = LEASE_CHECK + STORE + `
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[4], '', ARGV[1])
for first = 5, #ARGV, 1000 do
  redis.call('HSET', KEYS[4], unpack(ARGV, first, math.min(first + 999, #ARGV)))
end
redis.call('PEXPIREAT', KEYS[4], redis.call('PEXPIRETIME', KEYS[1]))
return 1
`

/**
 * The name of the fill that wrote an entry made of members (KEYS[1] value, KEYS[2] members), or
 * nil: only while its value exists and is the one written with the hash, which expires at the
 * same millisecond. A hash may outlive its value or lose it to another writer: Redis eviction,
 * or an instance of a version before the hash, which deletes and fills the value alone.
 */
const FILL_NAME = `
local fill = redis.call('HGET', KEYS[2], '')
if fill and redis.call('PEXPIRETIME', KEYS[1]) == redis.call('PEXPIRETIME', KEYS[2]) then
  return fill
end
return false
`

/** Gives a lease back early (MySQL failed), so waiting readers need not wait for it to expire. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

/** A fill's value and how long it lives: fresh for `freshMs`, its stale copy for `keepMs` (none when they are equal). */
export interface FillValue {
  token: string
  encoded: string
  freshMs: number
  keepMs: number
}

export interface LeaseScripts {
  /** After a missed GET: ['hit', value], or ['lease' | 'wait', staleValue] as the lease was taken or is held. */
  read (keys: EntryKeys, token: string, leaseMs: number): Promise<[string, string | null]>
  /** Stores a value at `version` (-1 for "not found") if the lease is still the token's and no floor refuses it; 1 when stored. */
  fillAboveFloor (keys: VersionedKeys, fill: FillValue, version: number): Promise<number>
  /** Stores a value and its members' versions (member, version pairs) if the lease is still the token's; 1 when stored. */
  fillWithMembers (keys: MemberedKeys, fill: FillValue, members: ScriptArg[]): Promise<number>
  /** The token of the fill that wrote an entry made of members, while its value is the one written with the hash. */
  fillName (valueKey: string, membersKey: string): Promise<string | null>
  /** Gives a lease back early. */
  release (leaseKey: string, token: string): Promise<number>
}

/** Defines the lease scripts on this client: the only way to call them. */
export function defineLeaseScripts (redis: RedisClient): LeaseScripts {
  const read = defineScript<[string, string | null]>(redis, 'cacheLeaseRead', 3, READ)
  const fillAboveFloor = defineScript<number>(redis, 'cacheFillAboveFloor', 4, FILL_ABOVE_FLOOR)
  const fillWithMembers = defineScript<number>(redis, 'cacheFillWithMembers', 4, FILL_WITH_MEMBERS)
  const fillName = defineScript<string | null>(redis, 'cacheFillName', 2, FILL_NAME)
  const release = defineScript<number>(redis, 'cacheRelease', 1, RELEASE)
  return {
    read: (keys, token, leaseMs) => read(keys.value, keys.stale, keys.lease, token, leaseMs),
    fillAboveFloor: (keys, fill, version) =>
      fillAboveFloor(keys.value, keys.stale, keys.lease, keys.floor, fill.token, fill.encoded, fill.freshMs, fill.keepMs, version),
    fillWithMembers: (keys, fill, members) =>
      fillWithMembers(keys.value, keys.stale, keys.lease, keys.members, fill.token, fill.encoded, fill.freshMs, fill.keepMs, ...members),
    fillName,
    release
  }
}
