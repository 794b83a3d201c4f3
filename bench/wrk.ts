import { execFile, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { LoadMeasurement } from './load.ts'
import { cpuMeter, watchProcess } from './process-stats.ts'

const SUMMARY_SCRIPT = join(import.meta.dirname, 'wrk-summary.lua')

/** Whether wrk (Debian's package `wrk`) is on the PATH. */
export function wrkAvailable (): boolean {
  return spawnSync('wrk', ['--version']).error === undefined
}

export interface WrkOptions {
  url: string
  connections: number
  durationSeconds: number
  serverPid: number
  neighbourPids: Record<string, number>
}

interface WrkSummary {
  requests: number
  durationUs: number
  connect: number
  read: number
  write: number
  timeout: number
  status: number
  p50Us: number
  p99Us: number
}

/** A shell's `times` line, "0m1.230s 0m0.450s": user and system seconds. */
function seconds (line: string): number {
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, minutes, rest]) => sum + 60 * Number(minutes) + Number(rest), 0)
}

/**
 * One thread of wrk against one URL: a generator in C, on its own core's
 * worth of time, far cheaper per request than the server it measures. Its
 * own CPU comes from the shell's `times` (children's user and system time),
 * since its /proc entry is gone by the time it has finished.
 */
export async function measureWithWrk (options: WrkOptions): Promise<LoadMeasurement> {
  const server = watchProcess(options.serverPid)
  const neighbours = Object.entries(options.neighbourPids).map(([name, pid]) => [name, cpuMeter(pid)] as const)
  const command = `wrk -t1 -c${options.connections} -d${options.durationSeconds}s --timeout 10s -s '${SUMMARY_SCRIPT}' '${options.url}'; times`
  const { stdout } = await promisify(execFile)('sh', ['-c', command], { maxBuffer: 1 << 20 })
  const usage = server.stop()
  const lines = stdout.trim().split('\n')
  const summary = JSON.parse(lines.find(line => line.startsWith('{')) ?? 'null') as WrkSummary | null
  if (summary === null) throw new Error(`wrk printed no summary:\n${stdout}`)
  const elapsedSeconds = summary.durationUs / 1e6
  return {
    requestsPerSecond: summary.requests / elapsedSeconds,
    requests: summary.requests,
    latencyP50Ms: summary.p50Us / 1000,
    latencyP99Ms: summary.p99Us / 1000,
    errors: summary.connect + summary.read + summary.write + summary.timeout,
    timeouts: summary.timeout,
    non2xx: summary.status,
    serverCpuPercent: usage.cpuPercent,
    generatorCpuPercent: 100 * seconds(lines.at(-1) ?? '') / elapsedSeconds,
    serverPeakRssMb: usage.peakRssMb,
    neighbourCpuPercent: Object.fromEntries(neighbours.map(([name, cpuPercent]) => [name, cpuPercent()]))
  }
}
