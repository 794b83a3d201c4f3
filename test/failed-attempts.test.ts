import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createFailedAttempts } from '../services/auth/failed-attempts.ts'

t.test('a client is locked out at the limit, alone, and each attempt while locked out starts the wait again', async t => {
  const attempts = createFailedAttempts({ limit: 3, windowMs: 400, maxClients: 10 })
  for (let i = 0; i < 3; i++) {
    t.equal(attempts.lockedOutFor('a'), undefined, `failure ${i + 1} may be tried`)
    attempts.recordFailure('a')
  }
  t.equal(attempts.lockedOutFor('a'), 1, 'locked out: the window, in whole seconds')
  t.equal(attempts.lockedOutFor('b'), undefined, 'another client is not')
  // Kept trying for twice the window: still locked out.
  for (let i = 0; i < 8; i++) {
    await sleep(100)
    t.equal(attempts.lockedOutFor('a'), 1)
  }
  await sleep(600)
  t.equal(attempts.lockedOutFor('a'), undefined, 'free once it waited a whole window')
})

t.test('failures older than the window are forgotten', async t => {
  const attempts = createFailedAttempts({ limit: 2, windowMs: 200, maxClients: 10 })
  attempts.recordFailure('a')
  await sleep(400)
  attempts.recordFailure('a')
  t.equal(attempts.lockedOutFor('a'), undefined, 'one failure in this window')
  attempts.recordFailure('a')
  t.equal(attempts.lockedOutFor('a'), 1)
})

t.test('an attacker rotating addresses cannot grow the memory past maxClients', async t => {
  const attempts = createFailedAttempts({ limit: 1, windowMs: 60_000, maxClients: 100 })
  for (let i = 0; i < 10_000; i++) attempts.recordFailure(`198.51.${i >> 8}.${i & 0xff}`)
  t.equal(attempts.size, 100)
  t.equal(attempts.lockedOutFor('198.51.39.15'), 60, 'the most recent clients are the ones kept')
  t.equal(attempts.lockedOutFor('198.51.0.0'), undefined, 'the least recent are forgotten')
})
