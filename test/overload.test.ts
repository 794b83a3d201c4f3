import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { UNDER_PRESSURE_MESSAGE } from '../plugins/under-pressure.ts'
import { build } from './helper.ts'

/** Keeps the event loop busy for `ms`, in turns of 300 ms, as a CPU-saturated process does. */
async function saturate (ms: number): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const turn = Date.now() + 300
    while (Date.now() < turn);
    await new Promise(resolve => setImmediate(resolve))
  }
}

t.test('an event loop lagging past MAX_EVENT_LOOP_DELAY_MS sheds requests with 503 and Retry-After, until it recovers', async t => {
  const app = await build(t, { MAX_EVENT_LOOP_DELAY_MS: '200' })
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).statusCode, 200)

  // The lag is the mean over a second: a whole second of turns 300 ms late is well past 200 ms.
  await saturate(2200)
  const shed = await app.inject({ url: '/active?country=NI&city=Managua' })
  t.equal(shed.statusCode, 503)
  t.equal(shed.headers['retry-after'], '5')
  t.same(shed.json(), { statusCode: 503, code: 'FST_UNDER_PRESSURE', error: 'Service Unavailable', message: UNDER_PRESSURE_MESSAGE })

  const deadline = Date.now() + 5000
  let status = shed.statusCode
  while (status !== 200 && Date.now() < deadline) {
    await sleep(100)
    status = (await app.inject({ url: '/active?country=NI&city=Managua' })).statusCode
  }
  t.equal(status, 200, 'served again once the event loop keeps up')
})

t.test('MAX_EVENT_LOOP_DELAY_MS=0 turns the shedding off', async t => {
  const app = await build(t, { MAX_EVENT_LOOP_DELAY_MS: '0' })
  await saturate(2200)
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).statusCode, 200)
})
