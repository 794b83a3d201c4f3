import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { freePort } from './port-free.ts'
import { waitForPort } from './port-listening.ts'

// Enough of a node's log to say why it would not start, without keeping a chatty sentinel's whole log.
const OUTPUT_KEPT = 20_000

export interface RedisProcess {
  readonly port: number
  /** Between a start() that answered and a kill(). */
  readonly running: boolean
  /** Spawns it with its arguments and waits for its port; does nothing while it runs. */
  start (): Promise<void>
  /** SIGKILL, as in a crash, and waits for it to exit; does nothing when it is not running. */
  kill (): Promise<void>
  /** The same SIGKILL without waiting, for a process 'exit' handler, where nothing can be awaited. */
  killNow (): void
  /** The end of what the process logged, for a failure's message. */
  output (): string
  /** Sends a signal (SIGSTOP freezes it: its connections stay open and nothing answers; SIGCONT thaws it). */
  signal (name: NodeJS.Signals): void
}

/**
 * One redis-server (data node, cluster node or sentinel) that a topology kills and starts again
 * with the same arguments, so that a restart comes back with its own config file, as a supervised
 * server would. The topology, not each process, registers the exit cleanup: one listener for a
 * topology of many nodes keeps Node's too-many-listeners warning away.
 */
export function redisProcess (port: number, args: readonly string[], cwd: string): RedisProcess {
  let child: ChildProcess | undefined
  let output = ''
  const log = (chunk: Buffer | string) => { output = (output + chunk.toString()).slice(-OUTPUT_KEPT) }

  async function start (): Promise<void> {
    if (child !== undefined) return
    const started = spawn('redis-server', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    started.stdout?.on('data', log)
    started.stderr?.on('data', log)
    started.on('error', (error: Error) => { log(`\n${error.message}\n`) })
    // 'close' rather than 'exit': it also comes when redis-server could not be spawned at all.
    started.once('close', () => { if (child === started) child = undefined })
    const exited = once(started, 'close').then(([code, signal]) => {
      throw new Error(`redis-server on port ${port} exited (code ${String(code)}, signal ${String(signal)}) before it listened:\n${output}`)
    })
    const listening = waitForPort(port)
    // Whichever loses the race must not become an unhandled rejection.
    exited.catch(() => {})
    listening.catch(() => {})
    await Promise.race([listening, exited])
  }

  async function kill (): Promise<void> {
    const running = child
    if (running === undefined) return
    child = undefined
    if (running.exitCode === null && running.signalCode === null) {
      const exited = once(running, 'exit')
      // A frozen process only dies of SIGKILL once it runs again.
      running.kill('SIGCONT')
      running.kill('SIGKILL')
      await exited
    }
  }

  function killNow (): void {
    child?.kill('SIGCONT')
    child?.kill('SIGKILL')
  }

  return {
    port,
    get running () { return child !== undefined },
    start,
    kill,
    killNow,
    output: () => output,
    signal: name => { child?.kill(name) }
  }
}

/** `count` distinct free ports: a topology binds them all, and freePort() alone may repeat itself. */
export async function freePorts (count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/**
 * Runs `use` on a connection of its own to 127.0.0.1:port and closes it, so the admin side of a
 * topology never shares, queues or retries anything: a dead or frozen node fails the call within
 * a second instead of being waited for.
 */
export async function withRedis<T> (port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    connectTimeout: 1000,
    commandTimeout: 1000,
    // RESP2 shapes (flat arrays for SENTINEL MASTER, nested ones for CLUSTER SLOTS), and
    // no CLIENT SETINFO, which Redis 7.0 does not know.
    protocol: 2,
    disableClientInfo: true
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await use(redis)
  } finally {
    redis.disconnect()
  }
}

/** One command on a connection of its own (see withRedis). */
export async function redisCall (port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
  return await withRedis(port, async redis => await redis.call(command, ...args))
}

/** Whether `condition` holds now; a node that does not answer means it does not. */
export async function holds (condition: () => Promise<boolean>): Promise<boolean> {
  try {
    return await condition()
  } catch {
    return false
  }
}

/** A field of an INFO answer ("master_link_status" → "up"), undefined when absent. */
export function infoField (info: string, field: string): string | undefined {
  const line = info.split(/\r?\n/).find(entry => entry.startsWith(`${field}:`))
  return line?.slice(field.length + 1).trim()
}

/** Runs redis-cli to its end; fails with its output when it exits other than 0 or takes longer than timeoutMs. */
export async function redisCli (args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.on('error', (error: Error) => { output += `\n${error.message}\n` })
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    const [code, signal] = await once(child, 'close') as [number | null, NodeJS.Signals | null]
    if (code !== 0) throw new Error(`redis-cli ${args.join(' ')} failed (code ${String(code)}, signal ${String(signal)}):\n${output}`)
    return output
  } finally {
    clearTimeout(killer)
  }
}

export interface RedisProcessGroup {
  /** The temporary directory the group's files (configs, nodes.conf, dumps) live in. */
  readonly dir: string
  /** A process of the group, started by its own start(). */
  add (port: number, args: readonly string[]): RedisProcess
  /** The group's process on `port`; an unknown port is the test's mistake. */
  node (port: number): RedisProcess
  readonly all: readonly RedisProcess[]
  /** Kills every process and removes the directory. */
  stop (): Promise<void>
}

/**
 * The processes of one topology in a temporary directory of their own, with one 'exit' listener
 * for all of them, so that an aborted run leaves no server and no files behind.
 */
export async function redisProcessGroup (kind: 'cluster' | 'sentinel' | 'server'): Promise<RedisProcessGroup> {
  const dir = await mkdtemp(join(tmpdir(), `redis-${kind}-`))
  const processes = new Map<number, RedisProcess>()
  const cleanUp = () => {
    for (const each of processes.values()) each.killNow()
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', cleanUp)
  return {
    dir,
    add (port, args) {
      const added = redisProcess(port, args, dir)
      processes.set(port, added)
      return added
    },
    node (port) {
      const found = processes.get(port)
      if (found === undefined) throw new Error(`port ${port} is not one of the ${kind} processes`)
      return found
    },
    get all () { return [...processes.values()] },
    async stop () {
      process.off('exit', cleanUp)
      await Promise.all([...processes.values()].map(each => each.kill()))
      await rm(dir, { recursive: true, force: true })
    }
  }
}
