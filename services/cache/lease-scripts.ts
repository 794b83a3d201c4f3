import type { Result } from 'ioredis'
import type { RedisClient } from './redis-client.ts'

// Each location has four keys sharing its hash tag, so a script only ever
// touches one Redis Cluster slot: KEYS[1] = value (the fresh answer, a plain
// GET on the hot path), KEYS[2] = stale (the same answer, kept for the grace
// period), KEYS[3] = lease (the one reader allowed to fill), KEYS[4] = floor
// (the oldest version a fill may store, while a record's change is new).

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
const FILL_CHECKS = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return 0
end
local floor = redis.call('GET', KEYS[4])
if floor then
  local version, deleted = string.match(floor, '^(%d+):([01])$')
  local mine = tonumber(ARGV[5])
  if not ((mine < 0 and deleted == '1') or mine >= tonumber(version)) then
    redis.call('DEL', KEYS[3])
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if tonumber(ARGV[4]) > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
else
  redis.call('DEL', KEYS[2])
end
redis.call('DEL', KEYS[3])
`
const FILL = FILL_CHECKS + 'return 1'

/**
 * The same for an entry made of members (a country's list), with KEYS[5] the hash of their
 * versions, replaced as a whole: ARGV from 6 on are member, version pairs. Its field '' names
 * this fill (its token), so a reader that decoded this value already need not read it again
 * (services/cache/read-through.ts). It expires at the value's very millisecond: that is how
 * a hash is known to be its value's (FILL_NAME). HSET takes the pairs in chunks: Lua's unpack
 * cannot spread thousands of arguments at once.
 */
const FILL_WITH_MEMBERS = FILL_CHECKS + `
redis.call('DEL', KEYS[5])
redis.call('HSET', KEYS[5], '', ARGV[1])
for first = 6, #ARGV, 1000 do
  redis.call('HSET', KEYS[5], unpack(ARGV, first, math.min(first + 999, #ARGV)))
end
redis.call('PEXPIREAT', KEYS[5], redis.call('PEXPIRETIME', KEYS[1]))
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

declare module 'ioredis' {
  interface RedisCommander<Context> {
    availabilityRead (valueKey: string, staleKey: string, leaseKey: string, token: string, leaseMs: number): Result<[string, string | null], Context>
    availabilityFill (
      valueKey: string, staleKey: string, leaseKey: string, floorKey: string, token: string, value: string, freshMs: number, keepMs: number, version: number
    ): Result<number, Context>
    availabilityFillWithMembers (
      valueKey: string, staleKey: string, leaseKey: string, floorKey: string, membersKey: string,
      token: string, value: string, freshMs: number, keepMs: number, version: number, ...memberVersions: Array<string | number>
    ): Result<number, Context>
    availabilityRelease (leaseKey: string, token: string): Result<number, Context>
    availabilityFillName (valueKey: string, membersKey: string): Result<string | null, Context>
  }
}

export function defineCacheScripts (redis: RedisClient): void {
  redis.defineCommand('availabilityRead', { numberOfKeys: 3, lua: READ })
  redis.defineCommand('availabilityFill', { numberOfKeys: 4, lua: FILL })
  redis.defineCommand('availabilityFillWithMembers', { numberOfKeys: 5, lua: FILL_WITH_MEMBERS })
  redis.defineCommand('availabilityRelease', { numberOfKeys: 1, lua: RELEASE })
  redis.defineCommand('availabilityFillName', { numberOfKeys: 2, lua: FILL_NAME })
}
