import { freePort } from './port-free.ts'
import { redisProcessGroup } from './redis-process.ts'

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
  const group = await redisProcessGroup('server')
  const server = group.add(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'])
  await server.start()
  return {
    port,
    kill: () => server.kill(),
    start: () => server.start(),
    freeze: () => { server.signal('SIGSTOP') },
    thaw: () => { server.signal('SIGCONT') }
  }
}
