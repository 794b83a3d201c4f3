import type { Redis, Result } from 'ioredis'

// Every script takes KEYS[1] = the entry, KEYS[2] = the lease. Both carry the
// location's hash tag, so one script only ever touches one Redis Cluster slot.

/**
 * Returns {'hit', value} for a fresh entry. Otherwise tries to take the fill
 * lease: {'lease', staleValue} when taken, {'wait', staleValue} when another
 * reader holds it. staleValue is an entry past its TTL but within its grace.
 */
const READ = `
local entry = redis.call('HMGET', KEYS[1], 'v', 'f')
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
if entry[1] and tonumber(entry[2]) > now then
  return {'hit', entry[1]}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'lease', entry[1]}
end
return {'wait', entry[1]}
`

/**
 * Stores a value only while the reader still holds its lease. Every write
 * deletes the lease, so a reader that read MySQL before a write can never
 * cache what it read (no stale set). Returns 1 when stored.
 */
const FILL = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'f', now + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`

/** Gives a lease back early (MySQL failed), so waiting readers need not wait for it to expire. */
const RELEASE = `
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return redis.call('DEL', KEYS[2])
end
return 0
`

declare module 'ioredis' {
  interface RedisCommander<Context> {
    availabilityRead (entryKey: string, leaseKey: string, token: string, leaseMs: number): Result<[string, string | null], Context>
    availabilityFill (entryKey: string, leaseKey: string, token: string, value: string, freshMs: number, keepMs: number): Result<number, Context>
    availabilityRelease (entryKey: string, leaseKey: string, token: string): Result<number, Context>
  }
}

export function defineCacheScripts (redis: Redis): void {
  redis.defineCommand('availabilityRead', { numberOfKeys: 2, lua: READ })
  redis.defineCommand('availabilityFill', { numberOfKeys: 2, lua: FILL })
  redis.defineCommand('availabilityRelease', { numberOfKeys: 2, lua: RELEASE })
}
