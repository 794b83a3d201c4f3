import { spawn, type ChildProcess } from 'node:child_process'
import { parseContainers, type Container } from './containers.ts'

export interface Run {
  /** The exit code; null when a signal ended the command. */
  code: number | null
  /** stdout and stderr as they came. */
  output: string
}

/** The docker commands still running, so that an interrupted smoke test can end them before it tears down. */
const running = new Set<ChildProcess>()

/** Runs `docker args` and collects its output; `echo` copies the output to this process's stdout as it comes. */
export async function docker (args: string[], env: NodeJS.ProcessEnv, echo = false): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    const chunks: Buffer[] = []
    const collect = (chunk: Buffer) => {
      chunks.push(chunk)
      if (echo) process.stdout.write(chunk)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', error => {
      running.delete(child)
      reject(new Error(`docker ${args[0] ?? ''} could not run: ${error.message} (is the docker CLI installed and on PATH?)`))
    })
    child.on('close', code => {
      running.delete(child)
      resolve({ code, output: Buffer.concat(chunks).toString() })
    })
  })
}

/** Ends the docker commands still running (SIGTERM) and waits for them to exit. */
export async function endRunningCommands (): Promise<void> {
  await Promise.all([...running].map(child => new Promise<void>(resolve => {
    child.once('close', () => resolve())
    child.kill('SIGTERM')
  })))
}

export interface ComposeProjectOptions {
  /** The project name: containers, networks and volumes are named after it. */
  name: string
  /** The repository: compose files are read from it and `build: .` builds it. */
  directory: string
  /** -f files, relative to `directory`. */
  files: string[]
  /** --profile names (`scaled` adds app-replica's two instances); the same ones must be given to `down`. */
  profiles?: string[]
  /** Replaces the directory's .env, so a developer's own settings play no part. */
  envFile: string
  env: NodeJS.ProcessEnv
}

export interface ComposeProject {
  readonly options: ComposeProjectOptions
  /** The `docker compose` arguments that name this project, for a person to run by hand. */
  readonly command: string
  run (args: string[], echo?: boolean): Promise<Run>
  containers (): Promise<Container[]>
  logs (service: string, lines: number): Promise<string>
}

export function composeProject (options: ComposeProjectOptions): ComposeProject {
  const selection = [
    'compose', '--project-name', options.name, '--project-directory', options.directory,
    ...options.files.flatMap(file => ['-f', file]), ...(options.profiles ?? []).flatMap(profile => ['--profile', profile]),
    '--env-file', options.envFile
  ]
  const run = async (args: string[], echo = false) => await docker([...selection, ...args], options.env, echo)
  return {
    options,
    command: `docker compose -p ${options.name} ${[...options.files.map(file => `-f ${file}`), ...(options.profiles ?? []).map(profile => `--profile ${profile}`)].join(' ')}`,
    run,
    async containers () {
      const { code, output } = await run(['ps', '--all', '--format', 'json'])
      if (code !== 0) throw new Error(`docker compose ps failed: ${output.trim()}`)
      return parseContainers(output)
    },
    async logs (service, lines) {
      return (await run(['logs', '--no-color', '--tail', String(lines), service])).output
    }
  }
}
