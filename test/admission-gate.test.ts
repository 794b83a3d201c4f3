import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createAdmissionGate } from '../services/database/admission-gate.ts'
import { DatabaseUnavailableError } from '../services/database/errors.ts'

// The gate on its own: no MySQL, just slots, a queue and the clock.

t.test('a free slot is taken at once; the next request waits its turn and gets the slot given back, in order', async t => {
  const gate = createAdmissionGate(1)
  const first = await gate.enter(Date.now() + 1000)
  t.equal(first.waitedMs, 0)
  const order: string[] = []
  const second = gate.enter(Date.now() + 1000).then(slot => { order.push('second'); return slot })
  const third = gate.enter(Date.now() + 1000).then(slot => { order.push('third'); return slot })
  t.same([gate.inUse, gate.waiting, gate.hasFreeSlot], [1, 2, false])
  await sleep(20)
  first.leave()
  first.leave()
  const slot = await second
  t.ok(slot.waitedMs >= 15, 'it knows how long it queued')
  slot.leave();
  (await third).leave()
  t.same(order, ['second', 'third'], 'first come, first served')
  t.same([gate.inUse, gate.waiting, gate.hasFreeSlot], [0, 0, true])
})

t.test('a request still waiting at its deadline is refused, with Retry-After, and counted', async t => {
  const gate = createAdmissionGate(1)
  const held = await gate.enter(Date.now() + 10_000)
  const started = Date.now()
  const refused = await gate.enter(Date.now() + 100, { patient: true, requests: () => 3 }).then(() => undefined, (error: unknown) => error)
  t.ok(refused instanceof DatabaseUnavailableError)
  // The test reads the clock a moment before the gate does: the budget it sees may be a millisecond shorter.
  t.match((refused as DatabaseUnavailableError).message, /^MySQL is busy: this request was not run, no connection came free within (99|100) ms/)
  t.ok((refused as DatabaseUnavailableError).retryAfterSeconds >= 1)
  t.ok(Date.now() - started >= 100, 'not before its deadline')
  t.same(gate.shed, { wait_estimate: 0, deadline: 3 }, 'counted as the requests it stood for')
  held.leave()
})

t.test('once slow statements bear out a slow history, a request that could not be served in time is refused at once; a patient one waits', async t => {
  const gate = createAdmissionGate(1)
  // Teach the gate that a statement takes about 300 ms.
  const slow = await gate.enter(Date.now() + 10_000)
  await sleep(300)
  slow.leave()
  t.ok(gate.serviceEstimateMs >= 290 && gate.serviceEstimateMs < 1000, 'it learned how long a statement takes')

  const busy = await gate.enter(Date.now() + 10_000)
  // At most the age of the statement in flight (a loaded machine may take a few milliseconds to get here), never the history's 300 ms.
  t.ok(gate.serviceEstimateMs < 100, 'a history alone counts for nothing while the statement in flight is young')
  const hopeful = gate.enter(Date.now() + 400).then(() => undefined, (error: unknown) => error)
  await sleep(60)
  t.ok(gate.serviceEstimateMs >= 290, 'once the statement in flight is a tenth of the way there, the history counts')
  const started = Date.now()
  const refused = await gate.enter(Date.now() + 400).then(() => undefined, (error: unknown) => error)
  t.ok(Date.now() - started < 20, 'refused at once')
  t.match((refused as Error).message, /could not be answered within (399|400) ms/)
  t.match(((await hopeful) as Error).message, /could not be answered/, 'and the one that was waiting with the same prospects is refused by a review')
  const patient = gate.enter(Date.now() + 2000, { patient: true })
  await sleep(100)
  t.equal(gate.waiting, 1, 'a patient request is not refused on an estimate')
  busy.leave()
  ;(await patient).leave()
  t.same(gate.shed, { wait_estimate: 2, deadline: 0 })
})

t.test('a request behind statements about to finish is judged by what they have left to run, and served', async t => {
  const gate = createAdmissionGate(1)
  const slow = await gate.enter(Date.now() + 10_000)
  await sleep(300)
  slow.leave()
  const busy = await gate.enter(Date.now() + 10_000)
  await sleep(200)
  // The statement in flight has about 100 ms to go, then this one takes about 300: about 400 ms of its 600.
  const started = Date.now()
  const waiting = gate.enter(started + 600).then(slot => { slot.leave(); return 'served' }, (error: unknown) => (error as Error).message)
  await sleep(100)
  busy.leave()
  t.equal(await waiting, 'served', 'not refused as if the statement in flight had a whole statement to go')
  t.ok(Date.now() - started < 600, 'and given its slot within its budget')
  t.same(gate.shed, { wait_estimate: 0, deadline: 0 })
})

t.test('a free slot is always used, however slow the history', async t => {
  const gate = createAdmissionGate(2)
  const slow = await gate.enter(Date.now() + 10_000)
  await sleep(300)
  slow.leave()
  const slot = await gate.enter(Date.now() + 10)
  t.ok(slot, 'a 10 ms budget, a 300 ms history, a free slot: it runs')
  slot.leave()
})

t.test('once closed, the gate refuses whoever waits and whoever comes', async t => {
  const gate = createAdmissionGate(1)
  const held = await gate.enter(Date.now() + 10_000)
  const waiting = gate.enter(Date.now() + 10_000).then(() => undefined, (error: unknown) => error)
  gate.close()
  t.match(((await waiting) as Error).message, 'The service is shutting down')
  await t.rejects(gate.enter(Date.now() + 10_000), { message: 'The service is shutting down; try another instance', retryAfterSeconds: 1 })
  held.leave()
})
