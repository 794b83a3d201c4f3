// A load of its own process, so that its cost is not the measured server's: `clients` connections
// each asking for `url` again `pauseMs` after it is answered, for `durationMs`. Prints the statuses counted, as JSON.
// Usage: node test/support/list-flood.ts <url> <clients> <durationMs> <pauseMs>
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, get } from 'node:http'

const [url, clients, durationMs, pauseMs] = [process.argv[2] as string, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])]
const agent = new Agent({ keepAlive: true, maxSockets: clients })
const statuses: Record<number, number> = {}
const deadline = Date.now() + durationMs

const once = () => new Promise<void>((resolve, reject) => {
  get(url, { agent }, response => {
    response.resume()
    response.on('end', () => {
      statuses[response.statusCode ?? 0] = (statuses[response.statusCode ?? 0] ?? 0) + 1
      resolve()
    })
  }).on('error', reject)
})

await Promise.all(Array.from({ length: clients }, async () => {
  while (Date.now() < deadline) {
    await once()
    await sleep(pauseMs)
  }
}))
agent.destroy()
console.log(JSON.stringify(statuses))
