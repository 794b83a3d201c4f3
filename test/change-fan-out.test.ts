import t from 'tap'
import { build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { createChangeFanOut, type StreamOutput } from '../services/changes/change-fan-out.ts'
import { createChangeLog, type ChangeFilter, type ChangeLog, type StoredChange } from '../services/changes/change-log.ts'
import { changeFormat, refetchFormat } from '../services/changes/stream-formats.ts'
import { until } from './support/until.ts'

// The fan-out on its own, over the real change history: what a subscriber is sent around its resume.

const OPTIONS = { maxSubscribers: 10, replayMax: 100, maxUnsentBytes: 1 << 20, keepAliveMs: 15_000, retryMs: 2000, writeSlice: 250, maxPerClient: 1_000_000 }

/** A stream output that keeps what is written to it. */
function collector (): StreamOutput & { text: string } {
  return {
    text: '',
    writableLength: 0,
    destroyed: false,
    write (chunk) { this.text += String(chunk); return true },
    end () {},
    destroy () {},
    once () {}
  }
}

/** A stream output that counts what is written to it after its opening. */
function counter (): StreamOutput & { writes: number, bytes: number } {
  let opened = false
  return {
    writes: 0,
    bytes: 0,
    writableLength: 0,
    destroyed: false,
    write (chunk) {
      if (opened) {
        this.writes++
        this.bytes += chunk.length
      }
      opened = true
      return true
    },
    end () {},
    destroy () {},
    once () {}
  }
}

t.test('a change delivered while a resume is being read is sent after the replay, once', async t => {
  const app = await build(t)
  const sql = await directSql(t, app)
  const log = createChangeLog(app.database)
  const before = await log.latestId()
  await sql.query('UPDATE locations SET active = 1 WHERE country = \'NI\' AND city_key IN (\'leon\', \'granada\')')
  const [missed, live] = await log.after(before, 10)

  let release = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  // The real history, read once the test has delivered a change meanwhile.
  const slowLog: ChangeLog = { ...log, between: async (...args) => { await gate; return log.between(...args) } }
  const fanOut = createChangeFanOut(slowLog, () => before + 1, OPTIONS)
  t.teardown(() => fanOut.endAll())
  const preparing = fanOut.prepare({ filter: { country: 'NI' }, client: 'test', format: changeFormat, lastEventId: before })
  // The batch holds a change the replay covers too: sent once.
  fanOut.deliver([missed!, live!])
  release()
  const out = collector()
  ;(await preparing).open(out)
  const ids = [...out.text.matchAll(/^id: (\d+)$/gm)].map(match => Number(match[1]))
  t.same(ids, [missed!.id, live!.id], 'the replayed change, then the one delivered meanwhile')
  fanOut.deliver([live!])
  t.equal([...out.text.matchAll(/^id: /gm)].length, 2, 'a change already sent is not sent again')
})

t.test('a refetch stream resumed with nothing missed says nothing more; no position yet is a 503', async t => {
  const app = await build(t)
  const log = createChangeLog(app.database)
  const latest = await log.latestId()
  const fanOut = createChangeFanOut(log, () => latest, OPTIONS)
  t.teardown(() => fanOut.endAll())
  const out = collector()
  ;(await fanOut.prepare({ filter: { country: 'NI', cityKey: 'ocotal' }, client: 'test', format: refetchFormat, lastEventId: latest - 1 })).open(out)
  t.equal(out.text, 'retry: 2000\n\n: connected\n\n', 'no change to Ocotal since: no refetch')

  const unread = createChangeFanOut(log, () => undefined, OPTIONS)
  t.teardown(() => unread.endAll())
  await t.rejects(unread.prepare({ filter: {}, client: 'test', format: changeFormat, lastEventId: undefined }), { statusCode: 503, message: /cannot be read yet/ })
  t.equal(unread.size, 0)

  fanOut.endAll()
  await t.rejects(fanOut.prepare({ filter: {}, client: 'test', format: changeFormat, lastEventId: undefined }), { message: /closing/ }, 'none once closing')
})

t.test('a change for thousands of subscribers is written a slice per turn of the event loop, in order, with other work between slices', async t => {
  const app = await build(t)
  const log = createChangeLog(app.database)
  const latest = await log.latestId()
  const sql = await directSql(t, app)
  await sql.query('UPDATE locations SET active = NOT active WHERE country = \'NI\' AND city_key IN (\'leon\', \'granada\')')
  const [first, second] = await log.after(latest, 10)
  const fanOut = createChangeFanOut(log, () => latest, { ...OPTIONS, maxSubscribers: 5000 })
  t.teardown(() => fanOut.endAll())
  const outputs = await Promise.all(Array.from({ length: 5000 }, async () => {
    const out = collector()
    ;(await fanOut.prepare({ filter: {}, client: 'test', format: changeFormat, lastEventId: undefined })).open(out)
    return out
  }))
  const opened = outputs[0]!.text.length
  const written = () => outputs.filter(out => out.text.length > opened).length
  fanOut.deliver([first!, second!])
  const atOnce = written()
  let between = -1
  setImmediate(() => { between = written() })
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(atOnce, 250, 'one slice at once')
  t.ok(between > 250 && between < 5000, `other work ran between slices (${between} written by then)`)
  const ids = (out: { text: string }) => [...out.text.matchAll(/^id: (\d+)$/gm)].map(match => Number(match[1])).slice(1)
  t.ok(outputs.every(out => ids(out).join() === `${first!.id},${second!.id}`), 'every subscriber had both changes, in order')
})

t.test('a bulk change of thousands of cities reaches each subscriber in one write, and not the subscribers of other cities', async t => {
  const app = await build(t)
  const log = createChangeLog(app.database)
  const latest = await log.latestId()
  await (await directSql(t, app)).query(`INSERT INTO locations (country, city, city_key, active)
    SELECT 'NI', CONCAT('bulk', seq), CONCAT('bulk', seq), 1 FROM seq_1_to_3000`)
  const bulk: StoredChange[] = []
  while (bulk.length < 3000) bulk.push(...await log.after(bulk.at(-1)?.id ?? latest, 1000))
  const fanOut = createChangeFanOut(log, () => latest, { ...OPTIONS, maxSubscribers: 1000, maxUnsentBytes: 1 << 30 })
  t.teardown(() => fanOut.endAll())
  const open = async (filter: ChangeFilter) => {
    const out = counter()
    ;(await fanOut.prepare({ filter, client: 'test', format: changeFormat, lastEventId: undefined })).open(out)
    return out
  }
  const country = await Promise.all(Array.from({ length: 500 }, () => open({ country: 'NI' })))
  const elsewhere = await Promise.all(Array.from({ length: 500 }, () => open({ country: 'NI', cityKey: 'ocotal' })))
  const expected = bulk.reduce((sum, change) => sum + changeFormat.live(change).length, 0)
  fanOut.deliver(bulk)
  await until(async () => country.every(out => out.bytes === expected), 'every country subscriber has the bulk', 60_000)
  t.ok(country.every(out => out.writes === 1), `one write each (${country[0]!.writes})`)
  t.ok(elsewhere.every(out => out.writes === 0), 'none to the subscribers of a city the bulk did not change')
})

t.test('a long replay may take its reader longer than the slow-consumer grace; the bound applies again once it is read', async t => {
  const app = await build(t)
  const log = createChangeLog(app.database)
  const before = await log.latestId()
  const sql = await directSql(t, app)
  await sql.query('UPDATE locations SET active = NOT active WHERE country = \'NI\'')
  await sql.query('UPDATE locations SET active = NOT active WHERE country = \'NI\'')
  const latest = await log.latestId()
  const fanOut = createChangeFanOut(log, () => latest, { ...OPTIONS, maxUnsentBytes: 1024 })
  t.teardown(() => fanOut.endAll())
  // A reader that has not taken in what it was sent until the test says so.
  const listeners = new Map<string, () => void>()
  const out = {
    ...counter(),
    unread: 0,
    get writableLength (): number { return this.unread },
    write (chunk: string | Buffer) { this.unread += chunk.length; return false },
    once (event: string, listener: () => void) { listeners.set(event, listener) }
  }
  ;(await fanOut.prepare({ filter: {}, client: 'test', format: changeFormat, lastEventId: before })).open(out)
  t.ok(out.unread > 1024, `the replay (${out.unread} bytes) is above the bound`)
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(fanOut.dropped, 0, 'not dropped while it reads its replay')
  out.unread = 0
  listeners.get('drain')?.()
  const [change] = await log.after(latest - 1, 1)
  fanOut.deliver(Array.from({ length: 20 }, (_, i) => ({ ...change!, id: latest + 1 + i })))
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(fanOut.dropped, 1, 'once the replay is read, a reader that falls behind is dropped')
})

t.test('a subscriber that leaves while a batch is still being written to others is skipped, the others still served', async t => {
  const app = await build(t)
  const sql = await directSql(t, app)
  const log = createChangeLog(app.database)
  const latest = await log.latestId()
  await sql.query('UPDATE locations SET active = NOT active WHERE country = \'NI\' AND city_key = \'leon\'')
  const batch = await log.after(latest, 10)
  // One subscriber per slice: the second is written on a later turn of the event loop.
  const fanOut = createChangeFanOut(log, () => latest, { ...OPTIONS, writeSlice: 1 })
  t.teardown(() => fanOut.endAll())
  const closers: Array<() => void> = []
  const outputs = [counter(), counter(), counter()].map(out => ({
    ...out,
    once (event: string, listener: () => void) { if (event === 'close') closers.push(listener) }
  }))
  for (const out of outputs) (await fanOut.prepare({ filter: { country: 'NI' }, client: 'test', format: changeFormat, lastEventId: undefined })).open(out)
  fanOut.deliver(batch)
  closers[1]!()
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  t.same(outputs.map(out => out.writes), [1, 0, 1], 'the first and the third have the change; the one gone meanwhile was skipped')
  t.equal(fanOut.size, 2)
})
