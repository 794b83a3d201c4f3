import type { Result } from 'ioredis'
import type { RedisClient } from './redis-client.ts'

// Applying an invalidation record (services/cache/record-sync.ts) deletes a cached answer only if
// it is older than the change the record describes: every write through the API has already
// invalidated and may have been read and cached again, at the new version, by the time the sync
// sees its record. Each script touches the keys of one entry (one hash tag, one slot).
// A reader holding the lease may have read MySQL before the change (a change made outside the
// API deleted nothing when it committed): for a location, the record sets the floor, which the
// fill checks (services/cache/lease-scripts.ts), and leaves the lease to its holder, whose read
// is most often the change itself, after an API write; a list's record deletes its lease.
// Neither script reads the value's contents: each costs the same whatever the entry's size.

/**
 * A location's entry: KEYS value, stale, lease, floor; ARGV version, deleted ('1' or '0'), floor
 * ms. An entry holds the location with its version, or JSON null for "not found", which is
 * current after a delete. The floor outlives the lease it guards, however long its holder took
 * it for. Returns how many of value and stale it deleted.
 */
const APPLY_TO_LOCATION = `
local value = redis.call('GET', KEYS[1])
if value then
  local entry = cjson.decode(value)
  if entry == cjson.null then
    if ARGV[2] == '1' then return 0 end
  elseif tonumber(entry.version or 0) >= tonumber(ARGV[1]) then
    return 0
  end
end
local floor = redis.call('GET', KEYS[4])
if not floor or tonumber(string.match(floor, '^(%d+)') or 0) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[4], ARGV[1] .. ':' .. ARGV[2], 'PX', math.max(tonumber(ARGV[3]), redis.call('PTTL', KEYS[3])))
end
return redis.call('DEL', KEYS[1], KEYS[2])
`

/**
 * An entry made of members (a country's list): KEYS value, stale, lease, members (the hash of the
 * versions the value holds, written with it by the fill); ARGV member, version, deleted, for each
 * member a record names. The value is current if it holds each member at that version or later,
 * or, after a delete, does not hold it: one HGET a member, whatever the size of the list. A value
 * without its hash holds nothing the check can see, and is deleted: the hash is gone (evicted), or
 * is another value's (it expires with its own, services/cache/lease-scripts.ts), left over when an
 * instance of the version before the hash deleted and filled the value alone.
 */
const APPLY_TO_MEMBERS = `
local expires = redis.call('PEXPIRETIME', KEYS[1])
if expires >= 0 and expires == redis.call('PEXPIRETIME', KEYS[4]) then
  local current = true
  for i = 1, #ARGV, 3 do
    local held = redis.call('HGET', KEYS[4], ARGV[i])
    if held then
      current = tonumber(held) >= tonumber(ARGV[i + 1])
    else
      current = ARGV[i + 2] == '1'
    end
    if not current then break end
  end
  if current then return 0 end
end
redis.call('DEL', KEYS[4])
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
`

declare module 'ioredis' {
  interface RedisCommander<Context> {
    availabilityApplyToLocation (
      valueKey: string, staleKey: string, leaseKey: string, floorKey: string, version: number, deleted: 0 | 1, floorMs: number
    ): Result<number, Context>
    availabilityApplyToMembers (
      valueKey: string, staleKey: string, leaseKey: string, membersKey: string, ...memberChanges: Array<string | number>
    ): Result<number, Context>
  }
}

export function defineRecordScripts (redis: RedisClient): void {
  redis.defineCommand('availabilityApplyToLocation', { numberOfKeys: 4, lua: APPLY_TO_LOCATION })
  redis.defineCommand('availabilityApplyToMembers', { numberOfKeys: 4, lua: APPLY_TO_MEMBERS })
}
