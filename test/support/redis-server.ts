import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from './port-free.ts'
import { waitForPort } from './port-listening.ts'

export interface RedisServer {
  readonly port: number
  /** SIGKILL: the server goes away with everything it held, as in a crash. */
  kill (): Promise<void>
  /** Starts it again on the same port, empty; does nothing while it runs. */
  start (): Promise<void>
  /** SIGSTOP: connections stay open and nothing answers. */
  freeze (): void
  /** SIGCONT: answers again, then runs what it was sent while frozen. */
  thaw (): void
}

/**
 * A redis-server of the test's own, on a free port, without persistence, so
 * a test can crash it. Call kill() in the test's teardown.
 */
export async function startRedisServer (): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined

  const killChild = () => { child?.kill('SIGKILL') }
  // Stops an aborted run from leaving a server behind.
  process.once('exit', killChild)

  async function start (): Promise<void> {
    if (child !== undefined) return
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await waitForPort(port)
  }

  async function kill (): Promise<void> {
    const running = child
    if (running === undefined) return
    child = undefined
    if (running.exitCode === null && running.signalCode === null) {
      const exited = once(running, 'exit')
      running.kill('SIGCONT')
      running.kill('SIGKILL')
      await exited
    }
  }

  await start()
  return {
    port,
    kill,
    start,
    freeze: () => { child?.kill('SIGSTOP') },
    thaw: () => { child?.kill('SIGCONT') }
  }
}
