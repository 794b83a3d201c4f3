import { readFileSync } from 'node:fs'

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every architecture Node supports.
const CLOCK_TICKS_PER_SECOND = 100
const RSS_SAMPLE_MS = 100

function statusKilobytes (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`/proc/${pid}/status has no ${field}: is the process still running?`)
  return Number(match[1])
}

/** The memory the process holds now, in MB. */
export function rssMb (pid: number): number {
  return statusKilobytes(pid, 'VmRSS') / 1024
}

/** The most memory the process has held since it started, in MB. */
export function peakRssMb (pid: number): number {
  return statusKilobytes(pid, 'VmHWM') / 1024
}

/** CPU seconds the process has used so far, all threads (main, libuv pool, GC). */
export function cpuSeconds (pid: number): number {
  // Fields after the command name, which may itself hold spaces: utime and stime are the 12th and 13th.
  const afterName = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? ''
  const fields = afterName.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

export interface ProcessUsage {
  /** Highest resident set size sampled while the watch lasted. */
  peakRssMb: number
  /** Share of one core the process used; 100% on both of 2 cores would be 200%. */
  cpuPercent: number
}

/** Starts measuring a process's CPU; the returned function gives the share of one core used since. */
export function cpuMeter (pid: number): () => number {
  const startedAt = performance.now()
  const startCpu = cpuSeconds(pid)
  return () => 100 * (cpuSeconds(pid) - startCpu) / ((performance.now() - startedAt) / 1000)
}

/** Samples a process's RSS every 100 ms and its CPU time at both ends, until stopped. */
export function watchProcess (pid: number): { stop: () => ProcessUsage } {
  const cpuPercent = cpuMeter(pid)
  let peakKb = statusKilobytes(pid, 'VmRSS')
  const timer = setInterval(() => {
    try {
      peakKb = Math.max(peakKb, statusKilobytes(pid, 'VmRSS'))
    } catch {
      // The process is gone (crashed, or the bench is being interrupted); stop() reports it.
      clearInterval(timer)
    }
  }, RSS_SAMPLE_MS)
  return {
    stop () {
      clearInterval(timer)
      peakKb = Math.max(peakKb, statusKilobytes(pid, 'VmRSS'))
      return { peakRssMb: peakKb / 1024, cpuPercent: cpuPercent() }
    }
  }
}
