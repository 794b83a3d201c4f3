import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

/** The parts of V8's .cpuprofile format (what `node --cpu-prof` writes) that we read. */
interface CpuProfile {
  nodes: Array<{
    id: number
    callFrame: { functionName: string, url: string, lineNumber: number }
    children?: number[]
  }>
  samples: number[]
  timeDeltas: number[]
}

/** V8's frame for the time the thread waited for events. */
const IDLE = '(idle)'

/** Where a frame's code comes from: a package, Node's internals, our own build, or V8 itself. */
function origin (url: string): string {
  if (url === '') return 'V8 / native'
  if (url.startsWith('node:')) return 'node internals'
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (inPackage !== null) return inPackage[1] as string
  const ours = /\/dist\/(.+)$/.exec(url)
  return ours !== null ? `ours: ${ours[1]}` : url.replace(/^file:\/\//, '')
}

/** Origins that only ever do work on behalf of the package that called them. */
const LOW_LEVEL = new Set(['V8 / native', 'node internals'])

/** Packages grouped by what they do for a request, so a share reads as "the cost of logging". */
const CONCERNS: Record<string, (origin: string) => boolean> = {
  'request logging (pino, sonic-boom, redaction)': o => ['pino', 'sonic-boom', '@pinojs/redact', 'pino-std-serializers'].includes(o),
  'metrics library (prom-client; our request histogram counts as our code)': o => ['@prometheus-io/client', 'prom-client', 'tdigest', 'bintrees'].includes(o),
  'Redis client (ioredis)': o => ['ioredis', 'standard-as-callback', 'redis-errors', 'redis-parser', 'cluster-key-slot', 'denque'].includes(o),
  'query validation (ajv)': o => o === 'ajv',
  'response serialisation (fast-json-stringify)': o => o === 'fast-json-stringify',
  'our code (dist/)': o => o.startsWith('ours:')
}

function frameName (frame: CpuProfile['nodes'][number]['callFrame']): string {
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^file:\/\/.*?(node_modules\/|dist\/)/, '$1')}:${frame.lineNumber + 1}`
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${where}`
}

function addTo (totals: Map<string, number>, key: string, amount: number): void {
  totals.set(key, (totals.get(key) ?? 0) + amount)
}

function ranked (totals: Map<string, number>, busyUs: number, top: number): string[] {
  return [...totals]
    .sort(([, a], [, b]) => b - a)
    .slice(0, top)
    .map(([name, us]) => `${(100 * us / busyUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`)
}

/**
 * Self time by function and by package, total (inclusive) time by function,
 * and self time charged to the nearest package on the stack, as shares of the busy (non-idle) time. Time per sample comes
 * from timeDeltas, which is more exact than hitCount × the sampling interval.
 */
export function summariseProfile (profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const selfByFunction = new Map<string, number>()
  const selfByOrigin = new Map<string, number>()
  const totalByFunction = new Map<string, number>()
  const attributedByOrigin = new Map<string, number>()
  const attributedByConcern = new Map<string, number>()
  let busyUs = 0
  let idleUs = 0
  profile.samples.forEach((id, index) => {
    // The delta before sample i+1 is the time sample i stood for.
    const us = profile.timeDeltas[index + 1] ?? 0
    const node = byId.get(id)
    if (node === undefined) return
    if (node.callFrame.functionName === IDLE) {
      idleUs += us
      return
    }
    busyUs += us
    addTo(selfByFunction, frameName(node.callFrame), us)
    addTo(selfByOrigin, origin(node.callFrame.url), us)
    // Each function once per sample, however deep it recurses.
    const functionsOnStack = new Set<string>()
    let attributedTo: string | undefined
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)?.callFrame
      if (frame === undefined || frame.functionName === '(root)') continue
      functionsOnStack.add(frameName(frame))
      const from = origin(frame.url)
      if (attributedTo === undefined && !LOW_LEVEL.has(from)) attributedTo = from
    }
    for (const name of functionsOnStack) addTo(totalByFunction, name, us)
    // Not "total by package": Fastify runs the rest of a request inside each hook's callback, so any hook would look like all of it.
    const owner = attributedTo ?? 'Node / V8 with no package on the stack (GC, event loop)'
    addTo(attributedByOrigin, owner, us)
    const concern = Object.entries(CONCERNS).find(([, includes]) => includes(owner))?.[0] ?? 'everything else'
    addTo(attributedByConcern, concern, us)
  })

  return [
    `busy ${(busyUs / 1000).toFixed(0)} ms, idle ${(idleUs / 1000).toFixed(0)} ms; shares below are of busy time`,
    '',
    `top ${top} functions by self time:`,
    ...ranked(selfByFunction, busyUs, top),
    '',
    'self time by origin:',
    ...ranked(selfByOrigin, busyUs, top),
    '',
    `top ${top} functions by total time (self + callees):`,
    ...ranked(totalByFunction, busyUs, top),
    '',
    'self time by the nearest package on the stack (its own code, and the Node and V8 work it calls directly, such as a socket or file write):',
    ...ranked(attributedByOrigin, busyUs, top),
    '',
    'the same, by concern:',
    ...ranked(attributedByConcern, busyUs, top)
  ].join('\n')
}

/** The newest .cpuprofile in a directory. */
export async function newestProfile (directory: string): Promise<string> {
  const names = (await readdir(directory)).filter(name => name.endsWith('.cpuprofile'))
  if (names.length === 0) throw new Error(`no .cpuprofile in ${directory}: run bench/profile-hit.ts first`)
  const dated = await Promise.all(names.map(async name => ({ path: join(directory, name), mtime: (await stat(join(directory, name))).mtimeMs })))
  return dated.sort((a, b) => b.mtime - a.mtime)[0]?.path as string
}

export async function readProfile (path: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(path, 'utf8')) as CpuProfile
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } })
  const path = positionals[0] ?? await newestProfile(join(import.meta.dirname, '..', 'bench-results', 'profile'))
  console.log(`${path}\n`)
  console.log(summariseProfile(await readProfile(path), Number(values.top)))
}
