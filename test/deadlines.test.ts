import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createDeadlines } from '../services/database/deadlines.ts'

const TICK_MS = 5

t.test('a deadline expires once its time has passed, within a tick; a cancelled one never does', async t => {
  const deadlines = createDeadlines(TICK_MS)
  const started = Date.now()
  const expired: Array<[string, number]> = []
  deadlines.watch(started + 30, () => expired.push(['soon', Date.now() - started]))
  deadlines.watch(started + 60, () => expired.push(['later', Date.now() - started]))
  const cancel = deadlines.watch(started + 30, () => expired.push(['cancelled', Date.now() - started]))
  cancel()
  await sleep(120)
  t.same(expired.map(([name]) => name), ['soon', 'later'])
  t.ok(expired.every(([name, ms]) => ms >= (name === 'soon' ? 30 : 60)), `never early: ${JSON.stringify(expired)}`)
  // Nothing pending: the timer has stopped, and a new deadline starts it again.
  // Within a tick of its time, plus however late the event loop ran its timers meanwhile (a loaded machine
  // stalls it), plus a millisecond for Date.now against the timers' clock.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  const again = await new Promise<number>(resolve => { const at = Date.now() + 10; deadlines.watch(at, () => resolve(Date.now() - at)) })
  loopDelay.disable()
  const boundMs = TICK_MS + 1 + loopDelay.max / 1e6
  t.ok(again >= 0 && again <= boundMs, `a deadline after a quiet spell expires too, within a tick: ${again} ms after its time, at most ${boundMs.toFixed(1)}`)
})
