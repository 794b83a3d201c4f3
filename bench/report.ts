import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LoadMeasurement } from './load.ts'
import type { StormResult } from './miss-storm.ts'
import type { FanOutResult } from './fan-out.ts'

export interface ScenarioRun extends LoadMeasurement {
  scenario: 'baseline' | 'shell' | 'anchor' | 'hit' | 'local' | 'miss' | 'statement' | 'mixed'
  /** For baseline, shell, anchor, hit and local: which alternation round. */
  round?: number
  statuses: Record<string, number>
  cacheOutcomes: Record<string, number>
}

export interface RatioSummary {
  perRound: number[]
  median: number
  min: number
  max: number
}

export interface BenchReport {
  startedAt: string
  machine: Record<string, string | number>
  options: Record<string, string | number>
  notes: string[]
  runs: ScenarioRun[]
  hitBaselineRatio: RatioSummary
  /** The hit against the anchor, bare Fastify plus one Redis GET: what the service adds to one round trip. */
  hitAnchorRatio: RatioSummary
  /** The same ratio of requests per CPU-second of the server: what each request costs, whoever else wants the cores. */
  hitBaselineCpuRatio: RatioSummary
  /** The service with its local tier on (CACHE_LOCAL_TTL_MS), against the same baseline rounds. */
  localBaselineRatio: RatioSummary
  localBaselineCpuRatio: RatioSummary
  /** The service's shell without its data (bench/shell-server.ts) against the bare route: what its per-request features cost, per server CPU-second. */
  shellBaselineCpuRatio: RatioSummary
  /** The local tier against the service's shell: what our own lookup costs, per server CPU-second. */
  localShellCpuRatio: RatioSummary
  /** The miss scenario beside MariaDB's own rate for its statement, and beside bare Fastify running that statement once per request (bench/statement-server.ts). */
  missPath: {
    missRequestsPerSecond: number
    missRequestsPerCpuSecond: number
    statementRequestsPerSecond: number
    statementRequestsPerCpuSecond: number
    pointSelectsPerSecond: number
    poolSize: number
  }
  storms: StormResult[]
  /** N change streams on one instance, one write: until every subscriber had it, and memory per stream. */
  fanOut: FanOutResult
  servicePeakRssMb: number
  baselinePeakRssMb: number
  anchorPeakRssMb: number
  targets: Array<{ target: string, measured: string, met: boolean }>
  failures: string[]
}

/** What the references answer, in place of the service's cache outcomes. */
const CONSTANT_ANSWERS: Partial<Record<ScenarioRun['scenario'], string>> = {
  baseline: '(constant)',
  shell: '(constant)',
  anchor: '(one GET)',
  statement: '(one SELECT)'
}

/** Requests per second of server CPU: the cost of a request, less sensitive than req/s to who else is using the cores. */
export function requestsPerCpuSecond (run: LoadMeasurement): number {
  return run.requestsPerSecond / (run.serverCpuPercent / 100)
}

const fixed = (value: number, digits = 0) => Number.isFinite(value) ? value.toFixed(digits) : '-'

function percentages (counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0)
  if (total === 0) return '-'
  return Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([key, count]) => `${key} ${fixed(100 * count / total, count === total ? 0 : 1)}%`)
    .join(', ')
}

function table (header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map(row => (row[column] ?? '').length)))
  const line = (cells: string[]) => cells.map((cell, column) => column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)).join('  ')
  return [line(header), widths.map(width => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}

/** The human-readable report: one table of runs, the ratio, the storms, the targets. */
export function formatReport (report: BenchReport): string {
  const runs = table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'server CPU', 'req/CPU-s', 'bench CPU', 'redis CPU', 'mysql CPU', 'peak RSS MB', 'redis_cache'],
    report.runs.map(run => [
      run.round === undefined ? run.scenario : `${run.scenario} #${run.round}`,
      fixed(run.requestsPerSecond),
      fixed(run.latencyP50Ms, 2),
      fixed(run.latencyP99Ms, 2),
      String(run.errors),
      String(run.non2xx),
      `${fixed(run.serverCpuPercent)}%`,
      fixed(requestsPerCpuSecond(run)),
      `${fixed(run.generatorCpuPercent)}%`,
      `${fixed(run.neighbourCpuPercent.redis ?? Number.NaN)}%`,
      `${fixed(run.neighbourCpuPercent.mysql ?? Number.NaN)}%`,
      fixed(run.serverPeakRssMb, 1),
      CONSTANT_ANSWERS[run.scenario] ?? percentages(run.cacheOutcomes)
    ])
  )
  const ratioLines = (label: string, ratio: RatioSummary) => [
    `${label}: ${ratio.perRound.map(value => fixed(value, 3)).join(', ')}`,
    `  median ${fixed(ratio.median, 3)}, spread ${fixed(ratio.min, 3)}–${fixed(ratio.max, 3)}`
  ]
  const { missPath } = report
  const storms = report.storms.map(storm =>
    `  ${storm.location}: ${storm.requests} GETs in ${fixed(storm.durationMs)} ms -> ` +
    `Com_select +${storm.queries.Com_select}, Com_stmt_execute +${storm.queries.Com_stmt_execute} ` +
    `(idle noise over the same time: +${storm.idleNoise.Com_select} / +${storm.idleNoise.Com_stmt_execute}); ` +
    `answers ${percentages(storm.statuses)}; ${percentages(storm.cacheOutcomes)}`)
  return [
    `nicaventas bench, ${report.startedAt}`,
    ...Object.entries(report.machine).map(([key, value]) => `  ${key}: ${value}`),
    `  options: ${Object.entries(report.options).map(([key, value]) => `${key}=${value}`).join(' ')}`,
    '',
    runs,
    '',
    ...ratioLines('hit / anchor (req/s, per round)', report.hitAnchorRatio),
    ...ratioLines('hit / baseline (req/s, per round)', report.hitBaselineRatio),
    ...ratioLines('hit / baseline (requests per server CPU-second, per round)', report.hitBaselineCpuRatio),
    ...ratioLines('local tier / baseline (req/s, per round)', report.localBaselineRatio),
    ...ratioLines('local tier / baseline (requests per server CPU-second, per round)', report.localBaselineCpuRatio),
    ...ratioLines('shell / baseline: the per-request features without our lookup (requests per server CPU-second, per round)', report.shellBaselineCpuRatio),
    ...ratioLines('local tier / shell: our lookup (requests per server CPU-second, per round)', report.localShellCpuRatio),
    `service peak RSS over the whole run (VmHWM, the larger of the two service processes): ${fixed(report.servicePeakRssMb, 1)} MB; bare server: ${fixed(report.baselinePeakRssMb, 1)} MB; anchor: ${fixed(report.anchorPeakRssMb, 1)} MB`,
    `miss path: ${fixed(missPath.missRequestsPerSecond)} req/s against MariaDB's ${fixed(missPath.pointSelectsPerSecond)} point selects/s (the same statement, a pool of ${missPath.poolSize}): ${fixed(missPath.missRequestsPerSecond / missPath.pointSelectsPerSecond, 2)} of it`,
    `  bare Fastify with one such statement per request and no cache (statement): ${fixed(missPath.statementRequestsPerSecond)} req/s, ${fixed(missPath.statementRequestsPerSecond / missPath.pointSelectsPerSecond, 2)} of MariaDB's rate; ` +
      `the miss is ${fixed(missPath.missRequestsPerSecond / missPath.statementRequestsPerSecond, 2)} of it by req/s, ${fixed(missPath.missRequestsPerCpuSecond / missPath.statementRequestsPerCpuSecond, 2)} by requests per server CPU-second`,
    '',
    'miss storm (MySQL statements counted server-wide):',
    ...storms,
    '',
    `change stream fan-out: ${report.fanOut.subscribers} subscribers on one instance, one PUT; every subscriber had the change ` +
      `p50 ${fixed(report.fanOut.delayMs.p50, 1)} ms, p99 ${fixed(report.fanOut.delayMs.p99, 1)} ms, max ${fixed(report.fanOut.delayMs.max, 1)} ms after the PUT was sent ` +
      `(its answer after ${fixed(report.fanOut.acknowledgedMs, 1)} ms); service RSS ${fixed(report.fanOut.rssBeforeMb, 1)} MB -> ${fixed(report.fanOut.rssWithSubscribersMb, 1)} MB, ` +
      `${fixed(report.fanOut.rssPerSubscriberKb, 1)} KB per subscriber`,
    '',
    'targets:',
    ...report.targets.map(({ target, measured, met }) => `  ${met ? 'met    ' : 'NOT MET'}  ${target}: ${measured}`),
    '',
    'notes:',
    ...report.notes.map(note => `  - ${note}`)
  ].join('\n')
}

/** Writes the report as JSON under bench-results/, named by its start time; returns the path. */
export async function writeReport (report: BenchReport, directory: string): Promise<string> {
  await mkdir(directory, { recursive: true })
  const path = join(directory, `${report.startedAt.replace(/[:.]/g, '-')}.json`)
  await writeFile(path, JSON.stringify(report, null, 2) + '\n')
  return path
}
