import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Child {
  name: string
  pid: number
  process: ChildProcess
  /** The last lines the child wrote to stderr, for the error message when it dies. */
  stderrTail: () => string
}

const STDERR_TAIL_CHARS = 4000
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000

const children = new Set<Child>()

/** A port nobody listens on right now, from the kernel. */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('could not read the free port the kernel gave us')
  return address.port
}

/**
 * Starts `node <args>` with exactly `env` (no inherited configuration can
 * change what we measure). Stdout goes to /dev/null: the service's logs
 * are paid for by the service, but reading them here would take CPU
 * from the two cores being measured. Stderr is kept for start-up crashes.
 */
export function startNode (name: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
  if (child.pid === undefined) throw new Error(`could not start ${name} (node ${args.join(' ')})`)
  let tail = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { tail = (tail + chunk).slice(-STDERR_TAIL_CHARS) })
  const tracked: Child = { name, pid: child.pid, process: child, stderrTail: () => tail }
  children.add(tracked)
  child.once('exit', () => children.delete(tracked))
  return tracked
}

/** Resolves when `url` answers 200; fails early, with the child's stderr, if the child exits first. */
export async function waitUntilServing (child: Child, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}) before serving ${url}:\n${child.stderrTail()}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  throw new Error(`${child.name} did not serve ${url} within ${READY_TIMEOUT_MS / 1000} s:\n${child.stderrTail()}`)
}

/** SIGTERM (the service closes gracefully, and a --cpu-prof run writes its profile), then SIGKILL. */
export async function stopChild (child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  const exited = once(child.process, 'exit')
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}

export async function stopAllChildren (): Promise<void> {
  await Promise.all([...children].map(stopChild))
}
