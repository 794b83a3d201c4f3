import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `condition` until it holds; fails, naming `what`, after `timeoutMs`. */
export async function until (condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`)
    await sleep(20)
  }
}
