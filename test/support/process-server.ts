import { spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ServerProcess {
  child: ChildProcess
  /** Everything the process wrote to stdout and stderr so far. */
  output (): string
  /** Resolves when the process has exited, however. */
  exited: Promise<Exit>
  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  stop (graceMs?: number): Promise<Exit>
}

/**
 * Starts a command as a server would be started, with exactly `env` (no variables of the
 * test process leak in: tap's loaders and coverage hooks stay out of the child).
 */
export function spawnServer (command: string[], options: { cwd: string, env: Record<string, string> }): ServerProcess {
  const [file, ...args] = command
  if (file === undefined) throw new Error('empty command')
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  // A command that cannot start is a failed start with the reason in the output, not a crash of the test.
  child.on('error', (error: Error) => { output += `\n${error.message}\n` })
  // 'close' rather than 'exit': it also comes when the command could not start, and after the last output.
  const exited = new Promise<Exit>(resolve => child.once('close', (code, signal) => resolve({ code, signal })))

  async function stop (graceMs = 15_000): Promise<Exit> {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(killer)
    }
  }

  return { child, output: () => output, exited, stop }
}

/**
 * Polls `url` until it answers `status`; fails at once if the process exits, and after
 * timeoutMs otherwise, with the process's output in the error.
 */
export async function waitForStatus (server: ServerProcess, url: string, status = 200, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  let exit: Exit | undefined
  server.exited.then(result => { exit = result }, () => {})
  while (Date.now() < deadline) {
    if (exit !== undefined) {
      throw new Error(`the server exited (code ${exit.code}, signal ${exit.signal}) before ${url} answered ${status}:\n${server.output()}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.arrayBuffer()
      if (response.status === status) return
      last = `status ${response.status}`
    } catch (error) {
      last = (error as Error).message
    }
    await sleep(100)
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last}):\n${server.output()}`)
}
