import type { FastifyBaseLogger } from 'fastify'
import { ReplyError } from 'ioredis'
import type { LocalTier } from '../cache/local-tier.ts'
import type { RecordScripts } from '../cache/record-scripts.ts'
import type { ReplicatedWrites } from '../cache/replicated-writes.ts'
import type { CacheStats } from './cache-stats.ts'
import type { InvalidationRecord } from './invalidation-records.ts'
import { currentAfter } from './location-entries.ts'
import { countryKeys, locationKeys } from './location-keys.ts'
import type { StoredLocation } from './location-store.ts'
import { locationKey } from '../../domain/location.ts'

export interface RecordApplyOptions {
  namespace: string
  /** How long a record's floor outlives its location's lease at least. */
  leaseMs: number
  scripts: RecordScripts
  writes: ReplicatedWrites
  localTier?: LocalTier<StoredLocation>
  /** Later readers of an entry whose old answer a record deleted start a flight of their own. */
  endFlight: (name: string) => void
  stats: CacheStats
  log: FastifyBaseLogger
}

/** The records one script applies, and the entry it applies them to. */
interface Applying {
  records: InvalidationRecord[]
  entry: string
  done: Promise<number>
}

/** The newest record of each location among `records`: it alone decides what is current. */
function newestByLocation (records: InvalidationRecord[]): InvalidationRecord[] {
  const newest = new Map<string, InvalidationRecord>()
  for (const record of records) {
    const key = locationKey(record)
    const seen = newest.get(key)
    if (seen === undefined || record.version >= seen.version) newest.set(key, record)
  }
  return [...newest.values()]
}

/** Records grouped by country: one check of a country's list for all of them. */
function byCountry (records: InvalidationRecord[]): Map<string, InvalidationRecord[]> {
  const countries = new Map<string, InvalidationRecord[]>()
  for (const record of records) {
    const group = countries.get(record.country)
    if (group === undefined) countries.set(record.country, [record])
    else group.push(record)
  }
  return countries
}

// Redis refused these keys themselves: one of the wrong type, or a script that failed on what they hold (a Lua error
// is 'ERR user_script:…'); other keys may be fine. Any other error reply (OOM, READONLY after a failover, LOADING,
// BUSY, CLUSTERDOWN, …) says Redis cannot apply anything for now: the whole pass fails, and is tried again.
const isRefusal = (error: unknown) => error instanceof ReplyError && /^(WRONGTYPE |ERR user_script:)/.test((error as Error).message)

/**
 * How invalidation records apply to the cache (services/cache/record-sync.ts reads them): each
 * location's newest record, and one check of each country's list for all of its records. Every
 * record's scripts are sent at once, so auto-pipelining makes them one pipeline per pass (one per
 * node with a Cluster). Resolves with the records whose keys Redis refused; throws when Redis
 * cannot be reached or cannot write, so that all are tried again.
 */
export function createRecordApply (options: RecordApplyOptions): (records: InvalidationRecord[]) => Promise<InvalidationRecord[]> {
  const { namespace, scripts, writes, localTier, endFlight, stats, log } = options
  // The entries whose keys Redis refuses: each is logged when it starts refusing, not on every pass.
  const refusing = new Set<string>()

  async function applyToLocation (record: InvalidationRecord): Promise<number> {
    const name = locationKey(record)
    localTier?.forgetUnless(name, currentAfter(record.version, record.deleted))
    const location = locationKeys(namespace, record)
    const deleted = await scripts.applyToVersioned(location, record.version, record.deleted, options.leaseMs)
    // An entry older than the change was cached: a flight that may have read as old is joined by nobody from
    // now on. A floor alone ends none: after an API write (the common case) the flight in progress read the
    // write, and ending it would cost every instance a second MySQL read; after a change in SQL, a reader
    // that joins a flight older than it answers what that flight read, once (its fill is refused).
    if (deleted > 0) endFlight(name)
    // A record counts as applied only once what it wrote would outlive a failover; until then the sync tries it
    // again. Always waited for: a retry finds the deletes done already, and must still confirm them.
    await writes.replicated(location.value)
    return deleted
  }

  /** One script for all of a country's records: each city is one hash lookup, whatever the size of the list. */
  async function applyToList (country: string, records: InvalidationRecord[]): Promise<number> {
    const list = countryKeys(namespace, country)
    const deleted = await scripts.applyToMembers(list, records.flatMap(record => [record.cityKey, record.version, record.deleted ? 1 : 0]))
    if (deleted > 0) endFlight(country)
    await writes.replicated(list.value)
    return deleted
  }

  /** Counts what applied; a refusal is warned about once, until its entry applies again, and its locations' keys go to `refused`. */
  function settle ({ entry, records }: Applying, outcome: PromiseSettledResult<number>, refused: Set<string>): void {
    if (outcome.status === 'fulfilled') {
      stats.records.deleted += outcome.value
      refusing.delete(entry)
      return
    }
    if (!isRefusal(outcome.reason)) throw outcome.reason
    if (!refusing.has(entry)) {
      refusing.add(entry)
      log.warn({ err: outcome.reason, entry }, 'Redis refused an invalidation record\'s keys; trying it again apart from the others until it takes them')
    }
    for (const record of records) refused.add(locationKey(record))
  }

  return async function applyRecords (records) {
    const newest = newestByLocation(records)
    const applying: Applying[] = [
      ...newest.map(record => ({ records: [record], entry: locationKey(record), done: applyToLocation(record) })),
      ...[...byCountry(newest)].map(([country, group]) => ({ records: group, entry: country, done: applyToList(country, group) }))
    ]
    const outcomes = await Promise.allSettled(applying.map(({ done }) => done))
    const refused = new Set<string>()
    for (const [index, outcome] of outcomes.entries()) settle(applying[index] as Applying, outcome, refused)
    // Older records of a refused location go with it: they are applied by its newest one.
    return records.filter(record => refused.has(locationKey(record)))
  }
}
