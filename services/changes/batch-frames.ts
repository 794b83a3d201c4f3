import type { ChangeFilter, StoredChange } from './change-log.ts'
import type { StreamFormat } from './stream-formats.ts'

/** The key of the subscribers a filter gathers: '' for every change, a country's, or a location's. */
export const filterKey = (filter: ChangeFilter): string =>
  filter.country === undefined ? '' : filter.cityKey === undefined ? filter.country : `${filter.country}/${filter.cityKey}`

/** The keys of every filter a change matches. */
export const keysOf = (change: StoredChange): string[] => ['', change.country, `${change.country}/${change.cityKey}`]

export interface BatchFrames {
  /** The changes of the batch a filter matches, in id order: a filter that matches one at least. */
  matching (filter: ChangeFilter): StoredChange[]
  /**
   * What a subscriber is sent of the batch, as one Buffer: the frames of the changes it matches
   * above `after`, or undefined when there are none. Subscribers with the same format and filter
   * share one Buffer, so a bulk change costs one copy per kind of subscriber, not one per subscriber.
   */
  chunk (format: StreamFormat, filter: ChangeFilter, after: number): Buffer | undefined
}

export function createBatchFrames (batch: StoredChange[]): BatchFrames {
  const byKey = new Map<string, StoredChange[]>()
  for (const change of batch) {
    for (const key of keysOf(change)) {
      let list = byKey.get(key)
      if (list === undefined) byKey.set(key, list = [])
      list.push(change)
    }
  }
  const joined = new Map<StreamFormat, Map<string, Buffer | undefined>>()
  const join = (format: StreamFormat, changes: StoredChange[]): Buffer | undefined =>
    changes.length === 0 ? undefined : Buffer.concat(changes.map(change => format.live(change)))

  // Asked only for subscribers picked by the keys of the batch's changes (ChangeFanOut.deliver): never empty.
  const matching = (filter: ChangeFilter): StoredChange[] => byKey.get(filterKey(filter))!
  return {
    matching,
    chunk (format, filter, after) {
      const changes = matching(filter)
      // A subscriber whose resume already covered part of the batch: its own chunk.
      if (after >= changes[0]!.id) return join(format, changes.filter(change => change.id > after))
      let byFilter = joined.get(format)
      if (byFilter === undefined) joined.set(format, byFilter = new Map())
      const key = filterKey(filter)
      if (!byFilter.has(key)) byFilter.set(key, join(format, changes))
      return byFilter.get(key)
    }
  }
}
