import { parseArgs } from 'node:util'

export interface BenchOptions {
  /** Seconds of measured load per run. */
  duration: number
  connections: number
  /** Baseline/hit pairs; the ratio is the median over them. */
  rounds: number
  /** Seconds of unrecorded load before a target's first measured run, so V8 has compiled the hot path. */
  warmup: number
  /** Concurrent GETs in one miss storm. */
  stormRequests: number
  /** Change streams opened on one instance for the fan-out figure. */
  fanOutSubscribers: number
  /** The bare server's logging: 'off' is the ceiling the issue names, 'info' isolates our route from Fastify's request logs. */
  baselineLog: 'off' | 'info'
}

const USAGE = `Usage: npm run bench -- [--duration 8] [--connections 64] [--rounds 3] [--warmup 3]
                       [--storm-requests 500] [--baseline-log off|info] [--fan-out-subscribers 10000]`

function positiveInteger (name: string, value: string): number {
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got "${value}"\n${USAGE}`)
  return parsed
}

/** Defaults finish the whole bench in about a minute and a half on 2 cores. */
export function readBenchOptions (argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '8' },
      connections: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '3' },
      'storm-requests': { type: 'string', default: '500' },
      'baseline-log': { type: 'string', default: 'off' },
      'fan-out-subscribers': { type: 'string', default: '10000' },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const baselineLog = values['baseline-log']
  if (baselineLog !== 'off' && baselineLog !== 'info') throw new Error(`--baseline-log must be "off" or "info", got "${baselineLog}"\n${USAGE}`)
  const rounds = positiveInteger('rounds', values.rounds)
  if (rounds < 3) throw new Error(`--rounds must be at least 3: this machine is too noisy for a ratio from fewer\n${USAGE}`)
  return {
    duration: positiveInteger('duration', values.duration),
    connections: positiveInteger('connections', values.connections),
    rounds,
    warmup: positiveInteger('warmup', values.warmup),
    stormRequests: positiveInteger('storm-requests', values['storm-requests']),
    fanOutSubscribers: positiveInteger('fan-out-subscribers', values['fan-out-subscribers']),
    baselineLog
  }
}
