import type { MemberedKeys, VersionedKeys } from './keys.ts'
import type { RedisClient } from './redis-client.ts'
import { defineScript, type ScriptArg } from './scripts.ts'

// Applying an invalidation record (services/cache/record-sync.ts) deletes a cached answer only if
// it is older than the change the record describes: every write through the API has already
// invalidated and may have been read and cached again, at the new version, by the time the sync
// sees its record. Each script touches the keys of one entry (one hash tag, one slot).
// A reader holding the lease may have read the source before the change (a change made outside
// the API deleted nothing when it committed): for a versioned entry, the record sets the floor,
// which the fill checks (lease-scripts.ts), and leaves the lease to its holder, whose read is
// most often the change itself, after an API write; an entry made of members has its lease deleted.
// The values are opaque here: the owner of the entries says how a version is read from one.

/**
 * A versioned entry: KEYS value, stale, lease, floor; ARGV version, deleted ('1' or '0'), floor
 * ms. An entry holds a value at its version (read by the owner's `version_of`), or null for "not
 * found" (read-through.ts), which is current after a delete. The floor outlives the lease it
 * guards, however long its holder took it for. Returns how many of value and stale it deleted.
 */
const applyToVersionedLua = (versionOf: string) => `
local function version_of (value)
${versionOf}
end
local value = redis.call('GET', KEYS[1])
if value then
  if value == 'null' then
    if ARGV[2] == '1' then return 0 end
  elseif version_of(value) >= tonumber(ARGV[1]) then
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
 * An entry made of members (a country's list, say): KEYS value, stale, lease, members (the hash of the
 * versions the value holds, written with it by the fill); ARGV member, version, deleted, for each
 * member a record names. The value is current if it holds each member at that version or later,
 * or, after a delete, does not hold it: one HGET a member, whatever the size of the list. A value
 * without its hash holds nothing the check can see, and is deleted: the hash is gone (evicted), or
 * is another value's (it expires with its own, lease-scripts.ts), left over when an
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

export interface RecordScripts {
  /** Deletes a versioned entry older than `version` (or than a delete) and sets its floor for `floorMs`; returns the keys deleted. */
  applyToVersioned (keys: VersionedKeys, version: number, deleted: boolean, floorMs: number): Promise<number>
  /** Deletes an entry made of members unless it holds each (member, version, deleted 1|0) as fresh; returns the keys deleted. */
  applyToMembers (keys: MemberedKeys, changes: ScriptArg[]): Promise<number>
}

/**
 * Defines the record scripts on this client: the only way to call them. `versionOf` is the body of
 * a Lua function of `value` (an entry's bytes, never "not found") that returns the version it holds.
 */
export function defineRecordScripts (redis: RedisClient, versionOf: string): RecordScripts {
  const applyToVersioned = defineScript<number>(redis, 'cacheApplyToVersioned', 4, applyToVersionedLua(versionOf))
  const applyToMembers = defineScript<number>(redis, 'cacheApplyToMembers', 4, APPLY_TO_MEMBERS)
  return {
    applyToVersioned: (keys, version, deleted, floorMs) =>
      applyToVersioned(keys.value, keys.stale, keys.lease, keys.floor, version, deleted ? 1 : 0, floorMs),
    applyToMembers: (keys, changes) => applyToMembers(keys.value, keys.stale, keys.lease, keys.members, ...changes)
  }
}
