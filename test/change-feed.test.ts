import t from 'tap'
import { build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { createChangeFeed } from '../services/changes/change-feed.ts'
import { createChangeLog, type ChangeLog, type StoredChange } from '../services/changes/change-log.ts'

// The feed on its own, over the real change history: its timer, a failed pass, and closing during a pass.

t.test('a failed pass is tried again by the timer, which is idle otherwise; closing waits for a pass under way', async t => {
  const app = await build(t)
  const log = createChangeLog(app.database)
  const delivered: StoredChange[] = []
  let failNext = false
  let release = () => {}
  let gate: Promise<void> = Promise.resolve()
  const guarded: ChangeLog = {
    ...log,
    async after (...args) {
      if (failNext) {
        failNext = false
        throw new Error('MySQL went away (the test says so)')
      }
      await gate
      return log.after(...args)
    }
  }
  const feed = createChangeFeed(guarded, changes => delivered.push(...changes), { intervalMs: 20, gapWaitMs: 1000, log: app.log })
  await feed.pollNow()
  failNext = true
  await t.rejects(feed.pollNow(), /went away/, 'a pass rejects when the history cannot be read')
  await (await directSql(t, app)).query('UPDATE locations SET active = 1 WHERE country = \'NI\' AND city_key = \'rivas\'')
  failNext = true
  feed.wake()
  // The woken pass fails, the timer's next one delivers.
  while (delivered.length === 0) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(delivered[0]!.cityKey, 'rivas')

  const passes = delivered.length
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(delivered.length, passes, 'no timer pass is owed: nothing awaited, nothing failed')

  // A pass that fails makes the timer's next one owed; that one waits at the gate while the feed closes.
  failNext = true
  feed.wake()
  gate = new Promise(resolve => { release = resolve })
  await new Promise(resolve => setTimeout(resolve, 60))
  const closing = feed.close()
  let closed = false
  closing.then(() => { closed = true }, () => {})
  await new Promise(resolve => setTimeout(resolve, 30))
  t.notOk(closed, 'close waits for the pass under way')
  release()
  await closing
  feed.wake()
  t.equal(feed.awaited, 0)
})

t.test('before MySQL has answered, the feed has no position, and its gauge reads 0', async t => {
  const app = await build(t)
  const unreachable: ChangeLog = { ...createChangeLog(app.database), latestId: async () => { throw new Error('MySQL unreachable (the test says so)') } }
  const feed = createChangeFeed(unreachable, () => {}, { intervalMs: 1000, gapWaitMs: 1000, log: app.log })
  t.teardown(() => feed.close())
  await t.rejects(feed.pollNow(), /unreachable/)
  t.equal(feed.deliveredUpTo, undefined)
  t.equal(feed.streamedUpTo, 0)
})
