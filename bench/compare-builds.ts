import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { stopAllChildren, type Child } from './children.ts'
import { dropBenchData } from './infrastructure.ts'
import { benchLocations } from './locations.ts'
import { median } from './statistics.ts'
import { MANAGUA_PATH, startAnchor, startBaseline, startService } from './targets.ts'
import { warmCache } from './warm-cache.ts'
import { measureWithWrk } from './wrk.ts'

/**
 * Built variants of the service side by side, in alternating wrk rounds
 * with the bare server and the anchor, each as a ratio to the anchor (and
 * to the bare server) in the same round: how a change is measured on a
 * noisy machine before it is kept.
 * Usage: node bench/compare-builds.ts [--rounds 4] [--duration 6] [--warmup 2] \
 *   'name=<dist directory>|<node flags>|<VAR=value,...>' ...
 * e.g. 'main=dist-main|--max-semi-space-size=8' 'new=dist|--max-semi-space-size=32|CACHE_LOCAL_TTL_MS=1000'
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' }
  }
})

interface Variant {
  name: string
  child: Child
  baseUrl: string
  databaseName: string
}

async function startVariant (spec: string, index: number): Promise<Variant> {
  const [nameAndDir = '', flags = '', env = ''] = spec.split('|')
  const [name = '', directory = ''] = nameAndDir.split('=')
  const databaseName = `nicaventas_compare_${index}`
  await dropBenchData(databaseName, databaseName)
  const { child, baseUrl } = await startService({
    databaseName,
    namespace: databaseName,
    token: randomBytes(24).toString('base64url'),
    build: directory,
    heapFlags: flags.split(' ').filter(Boolean),
    env: Object.fromEntries(env.split(',').filter(Boolean).map(pair => pair.split('=') as [string, string]))
  })
  await warmCache(baseUrl, benchLocations(databaseName))
  return { name, child, baseUrl, databaseName }
}

const options = { rounds: Number(values.rounds), duration: Number(values.duration), warmup: Number(values.warmup), connections: Number(values.connections) }
const variants: Variant[] = []
try {
  for (const [index, spec] of positionals.entries()) variants.push(await startVariant(spec, index))
  const anchor = await startAnchor('nicaventas_compare_anchor')
  const baseline = await startBaseline('off')
  const targets = [{ name: 'baseline', ...baseline }, { name: 'anchor', ...anchor }, ...variants]
  const run = async (target: typeof targets[number], seconds: number) =>
    await measureWithWrk({ url: `${target.baseUrl}${MANAGUA_PATH}`, connections: options.connections, durationSeconds: seconds, serverPid: target.child.pid, neighbourPids: {} })
  for (const target of targets) await run(target, options.warmup)
  const rates = new Map<string, number[]>(targets.map(target => [target.name, []]))
  const p99s = new Map<string, number[]>(targets.map(target => [target.name, []]))
  const perCpuSecond = new Map<string, number[]>(targets.map(target => [target.name, []]))
  const peaks = new Map<string, number>()
  for (let round = 0; round < options.rounds; round++) {
    const order = [...targets.slice(round % targets.length), ...targets.slice(0, round % targets.length)]
    for (const target of order) {
      const result = await run(target, options.duration)
      if (result.errors > 0 || result.non2xx > 0) console.error(`  ${target.name}: ${result.errors} errors, ${result.non2xx} non-2xx`)
      rates.get(target.name)?.push(result.requestsPerSecond)
      p99s.get(target.name)?.push(result.latencyP99Ms)
      perCpuSecond.get(target.name)?.push(result.requestsPerSecond / (result.serverCpuPercent / 100))
      peaks.set(target.name, Math.max(peaks.get(target.name) ?? 0, result.serverPeakRssMb))
      console.error(`  round ${round + 1} ${target.name}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.latencyP99Ms.toFixed(2)} ms, CPU ${result.serverCpuPercent.toFixed(0)}%`)
    }
  }
  const ratio = (name: string, reference: string, of = rates) => (of.get(name) ?? []).map((rate, round) => rate / (of.get(reference)?.[round] ?? Number.NaN))
  const range = (list: number[]) => `${median(list).toFixed(3)} (${Math.min(...list).toFixed(3)}–${Math.max(...list).toFixed(3)})`
  for (const target of targets) {
    console.log(`${target.name.padEnd(16)} ${median(rates.get(target.name) ?? []).toFixed(0).padStart(6)} req/s  p99 ${median(p99s.get(target.name) ?? []).toFixed(2).padStart(6)} ms  peak RSS ${(peaks.get(target.name) ?? 0).toFixed(0).padStart(4)} MB  /anchor ${range(ratio(target.name, 'anchor'))}  /baseline ${range(ratio(target.name, 'baseline'))}  per CPU-s /anchor ${range(ratio(target.name, 'anchor', perCpuSecond))} /baseline ${range(ratio(target.name, 'baseline', perCpuSecond))}`)
  }
} finally {
  await stopAllChildren()
  for (const variant of variants) await dropBenchData(variant.databaseName, variant.databaseName)
  await dropBenchData('nicaventas_compare_anchor', 'nicaventas_compare_anchor')
}
