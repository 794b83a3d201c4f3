import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

/**
 * How the deployment files start the service's process, read from the files themselves
 * (Dockerfile, docker-compose.yml), so the tests follow them rather than a copy of them.
 */

export const ROOT = join(import.meta.dirname, '..', '..')

export interface Instruction {
  keyword: string
  args: string
  line: number
}

export interface Stage {
  image: string
  name: string | undefined
  instructions: Instruction[]
}

/** Splits a Dockerfile into stages of instructions: continuation lines joined, comments dropped. */
export function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  let pending = ''
  let startLine = 0
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (pending === '') startLine = index + 1
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' '
      continue
    }
    const joined = (pending + line).trim()
    pending = ''
    const keyword = joined.split(/\s/, 1)[0] ?? ''
    const instruction = { keyword: keyword.toUpperCase(), args: joined.slice(keyword.length).trim(), line: startLine }
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter(word => !word.startsWith('--'))
      const asIndex = words.findIndex(word => word.toUpperCase() === 'AS')
      stages.push({ image: words[0] ?? '', name: asIndex === -1 ? undefined : words[asIndex + 1], instructions: [] })
    } else {
      const stage = stages.at(-1)
      // An ARG before the first FROM only feeds FROM lines.
      if (stage === undefined && instruction.keyword === 'ARG') continue
      if (stage === undefined) throw new Error(`Dockerfile line ${startLine}: ${instruction.keyword} before any FROM`)
      stage.instructions.push(instruction)
    }
  }
  return stages
}

export function readDockerfile (): Stage[] {
  return parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
}

/** The JSON array of an exec-form instruction (CMD ["node", "x.js"]), or undefined for the shell form. */
export function execForm (args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every(item => typeof item === 'string')) {
    throw new Error(`not an exec form of strings: ${args}`)
  }
  return parsed
}

export function instructionsOf (stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter(instruction => instruction.keyword === keyword)
}

/** The variables the stage's ENV instructions set (the KEY=value form). */
export function stageEnvironment (stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const { args } of instructionsOf(stage, 'ENV')) {
    for (const [, key = '', value = ''] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      env[key] = value.replace(/^"(.*)"$/, '$1')
    }
  }
  return env
}

/** The final stage's CMD, in exec form. */
export function imageCommand (stage: Stage): string[] {
  const [cmd] = instructionsOf(stage, 'CMD').slice(-1)
  const command = cmd === undefined ? undefined : execForm(cmd.args)
  if (command === undefined) throw new Error('the final stage has no exec-form CMD')
  return command
}

/** The stage's HEALTHCHECK command, in exec form, and its options (--interval=10s...). */
export function healthcheck (stage: Stage): { command: string[], options: Record<string, string> } {
  const [instruction] = instructionsOf(stage, 'HEALTHCHECK').slice(-1)
  const match = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/s.exec(instruction?.args ?? '')
  const command = match === null ? undefined : execForm(match[2] ?? '')
  if (command === undefined) throw new Error('no HEALTHCHECK with an exec-form CMD')
  const options = Object.fromEntries([...(match?.[1] ?? '').matchAll(/--([a-z-]+)=(\S+)/g)].map(([, key, value]) => [key, value]))
  return { command, options }
}

export type ComposeService = Record<string, unknown> & {
  environment?: Record<string, string | number | boolean | null>
  ports?: Array<string | { target: number, published?: string | number }>
  depends_on?: Record<string, { condition?: string }>
  profiles?: string[]
  healthcheck?: { test?: string[] | string }
}

export interface ComposeFile {
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

/** docker-compose.yml, or another compose file of the repository's root (docker-compose.cluster.yml). */
export function readComposeText (file = 'docker-compose.yml'): string {
  return readFileSync(join(ROOT, file), 'utf8')
}

/** A compose file as compose reads it: YAML merge keys (<<: *anchor) applied, nothing interpolated. */
export function readCompose (file = 'docker-compose.yml'): ComposeFile {
  return parse(readComposeText(file), { merge: true }) as ComposeFile
}

export class MissingVariableError extends Error {
  name = 'MissingVariableError'
}

/**
 * Compose's interpolation of one value: ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?message}, ${VAR?message}, $VAR and $$. Throws a MissingVariableError with
 * the message for a required variable that is missing.
 */
export function interpolate (value: string, variables: Record<string, string | undefined>): string {
  return value.replace(/\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (whole, braced?: string, operator?: string, argument?: string, bare?: string) => {
      if (whole === '$$') return '$'
      const name = (braced ?? bare) as string
      const current = variables[name]
      const unset = current === undefined || (operator?.startsWith(':') === true && current === '')
      if (!unset) return current
      if (operator?.endsWith('?') === true) throw new MissingVariableError(`${name}: ${argument ?? 'required'}`)
      return operator?.endsWith('-') === true ? argument ?? '' : ''
    })
}

/** The variables a compose value refers to, with how: required (`:?`), defaulted (`:-`) or plain. */
export function referencedVariables (value: string): Array<{ name: string, operator: string | undefined }> {
  return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])[^}]*)?\}/g)]
    .map(([, name = '', operator]) => ({ name, operator }))
}

/** A service's environment with every value a string, as the container sees it, before interpolation. */
export function rawEnvironment (service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, value === null ? '' : String(value)]))
}

/** The app service's environment as compose would pass it, with `variables` standing in for .env. */
export function composeAppEnvironment (variables: Record<string, string | undefined>): Record<string, string> {
  const app = readCompose().services.app
  if (app === undefined) throw new Error('docker-compose.yml has no service "app"')
  return Object.fromEntries(Object.entries(rawEnvironment(app)).map(([key, value]) => [key, interpolate(value, variables)]))
}
