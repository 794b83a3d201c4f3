import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

async function accepts (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort (port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await accepts(port)) {
    if (Date.now() > deadline) throw new Error(`nothing accepts connections on port ${port} after ${timeoutMs} ms`)
    await sleep(20)
  }
}
