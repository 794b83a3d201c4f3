import autocannon from 'autocannon'
import { cpuMeter, watchProcess } from './process-stats.ts'
import { LatencyRecorder } from './statistics.ts'

export interface LoadOptions {
  url: string
  connections: number
  durationSeconds: number
  requests: autocannon.Request[]
  /** The server under load, whose CPU and RSS are sampled. */
  serverPid: number
  /** Other local processes whose CPU share to report, by name (Redis, MariaDB). */
  neighbourPids: Record<string, number>
}

export interface LoadMeasurement {
  requestsPerSecond: number
  requests: number
  latencyP50Ms: number
  latencyP99Ms: number
  /** Connection errors and timeouts. */
  errors: number
  timeouts: number
  non2xx: number
  serverCpuPercent: number
  /** This process: autocannon and the scenario's request hooks, on the same 2 cores as the server. */
  generatorCpuPercent: number
  serverPeakRssMb: number
  neighbourCpuPercent: Record<string, number>
}

const REQUEST_TIMEOUT_SECONDS = 10

/** Runs autocannon in this process against a server, watching the server's CPU and memory meanwhile. */
export async function measureLoad (options: LoadOptions): Promise<LoadMeasurement> {
  const latencies = new LatencyRecorder()
  const server = watchProcess(options.serverPid)
  const neighbours = Object.entries(options.neighbourPids).map(([name, pid]) => [name, cpuMeter(pid)] as const)
  const generatorStart = process.cpuUsage()
  const startedAt = performance.now()

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: options.url,
      connections: options.connections,
      duration: options.durationSeconds,
      timeout: REQUEST_TIMEOUT_SECONDS,
      requests: options.requests
    }, (error, finished) => error === null || error === undefined ? resolve(finished) : reject(error))
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.record(responseTime))
  })

  const elapsedSeconds = (performance.now() - startedAt) / 1000
  const generatorCpu = process.cpuUsage(generatorStart)
  const usage = server.stop()
  const [p50, p99] = latencies.percentiles([50, 99])
  return {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    latencyP50Ms: p50 as number,
    latencyP99Ms: p99 as number,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    serverCpuPercent: usage.cpuPercent,
    generatorCpuPercent: 100 * (generatorCpu.user + generatorCpu.system) / 1e6 / elapsedSeconds,
    serverPeakRssMb: usage.peakRssMb,
    neighbourCpuPercent: Object.fromEntries(neighbours.map(([name, cpuPercent]) => [name, cpuPercent()]))
  }
}
