import { Cluster, type Redis } from 'ioredis'

/** What the watchdog reads of ioredis: each connection's queues of commands (Deque), sent and waiting for an answer, or waiting to be sent. */
interface QueuedCommand {
  command: { isSettled?: boolean, reject (error: Error): void }
}
interface CommandQueue {
  readonly length: number
  peekAt (index: number): QueuedCommand | undefined
}
interface Connection {
  commandQueue: CommandQueue
  offlineQueue: CommandQueue
}

export interface CommandWatchdog {
  stop (): void
}

// How often the queues are looked at, per timeout: a command fails between the timeout and a tenth more.
const LOOKS_PER_TIMEOUT = 10

/**
 * ioredis's `commandTimeout`, for every connection of `clients` at the cost
 * of one timer per client instead of one per command: every tenth of the
 * timeout the watchdog looks at what each connection is waiting for, and a
 * command it has seen unanswered for the whole timeout fails as ioredis's
 * own timer would fail it ("Command timed out"), its connection left open.
 * Starting and clearing a timer for every command cost a cache hit a few
 * percent of its CPU, and more in garbage collection.
 */
export function watchCommands (clients: Array<Redis | Cluster>, timeoutMs: number): CommandWatchdog {
  const firstSeen = new WeakMap<object, number>()

  function look (queue: CommandQueue, now: number): void {
    for (let index = 0; index < queue.length; index++) {
      const { command } = queue.peekAt(index) as QueuedCommand
      if (command.isSettled === true) continue
      const seen = firstSeen.get(command)
      if (seen === undefined) firstSeen.set(command, now)
      else if (now - seen >= timeoutMs) command.reject(new Error('Command timed out'))
    }
  }

  const timer = setInterval(() => {
    const now = performance.now()
    for (const client of clients) {
      // A Cluster's commands wait on the connection to each node; the nodes change with the slot map.
      for (const connection of (client instanceof Cluster ? client.nodes('all') : [client]) as unknown as Connection[]) {
        look(connection.commandQueue, now)
        look(connection.offlineQueue, now)
      }
    }
  }, Math.max(1, Math.floor(timeoutMs / LOOKS_PER_TIMEOUT)))
  // It watches requests' commands; it keeps nothing alive on its own.
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
