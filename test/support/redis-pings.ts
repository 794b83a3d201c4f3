// Times a PING every 20 ms from a process of its own, so that the measured latency is Redis's and not the
// event loop of the process under test; on SIGTERM prints the round trips (ms) as JSON and exits.
// Usage: node test/support/redis-pings.ts <host> <port>
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

const redis = new Redis({ host: process.argv[2], port: Number(process.argv[3]) })
const pings: number[] = []
const state = { running: true }
process.once('SIGTERM', () => { state.running = false })
await redis.ping()
process.stdout.write('ready\n')
while (state.running) {
  const started = performance.now()
  await redis.ping()
  pings.push(performance.now() - started)
  await sleep(20)
}
await redis.quit()
process.stdout.write(`${JSON.stringify(pings)}\n`)
