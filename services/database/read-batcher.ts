import type { RowDataPacket } from 'mysql2/promise'
import type { StatementRunner } from './statement-runner.ts'

export interface ReadBatcherOptions<Id, Row extends RowDataPacket> {
  /** The statement that reads one id. */
  one (id: Id): { sql: string, values: unknown[] }
  /** The statement that reads several ids at once. */
  many (ids: Id[]): { sql: string, values: unknown[] }
  keyOfId (id: Id): string
  keyOfRow (row: Row): string
  /** The most ids one statement reads. */
  maxBatch: number
}

/**
 * Reads by id, one statement per read while a connection is free, and
 * while none is, one statement for all the reads that queue together: the
 * batch waits for a connection as one request and takes in every read that
 * arrives until it gets one. On a slow MySQL, where every round trip counts,
 * a queue of reads of different ids costs one round trip, not one each.
 */
export function createReadBatcher<Id, Row extends RowDataPacket> (db: StatementRunner, options: ReadBatcherOptions<Id, Row>) {
  interface Batch {
    ids: Map<string, Id>
    rows: Promise<Map<string, Row>>
  }
  let open: Batch | undefined

  /** A batch holding its first read already, so a refusal at the gate counts it. */
  function startBatch (key: string, id: Id): Batch {
    const batch: Batch = { ids: new Map([[key, id]]), rows: Promise.resolve(new Map()) }
    const close = () => { if (open === batch) open = undefined }
    batch.rows = db.readWhenAdmitted<Row[]>(() => {
      close()
      return options.many([...batch.ids.values()])
    }, Date.now(), () => batch.ids.size).then(
      rows => new Map(rows.map(row => [options.keyOfRow(row), row])),
      error => { close(); throw error }
    )
    return batch
  }

  return async function read (id: Id): Promise<Row | undefined> {
    if (open === undefined && db.gate.hasFreeSlot) {
      const { sql, values } = options.one(id)
      const [row] = await db.read<Row[]>(sql, values)
      return row
    }
    const key = options.keyOfId(id)
    let batch = open
    if (batch === undefined || batch.ids.size >= options.maxBatch) {
      batch = startBatch(key, id)
      open = batch
    } else {
      batch.ids.set(key, id)
    }
    return (await batch.rows).get(key)
  }
}
