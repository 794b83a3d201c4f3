import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { stopAllChildren, stopChild } from './children.ts'
import { connectToRedis, dropBenchData } from './infrastructure.ts'
import { measureLoad } from './load.ts'
import { benchLocations } from './locations.ts'
import { readBenchOptions } from './options.ts'
import { invalidatingGets, rotatingGets } from './requests.ts'
import { ResponseTally } from './response-tally.ts'
import { newestProfile, readProfile, summariseProfile } from './summarise-profile.ts'
import { startService } from './targets.ts'
import { warmCache } from './warm-cache.ts'

/**
 * CPU profile of the hit path: the built service under `node --cpu-prof`,
 * cache warmed, then the hit scenario's load; the profile is written when the
 * service exits on SIGTERM, and summarised. It covers start-up too (about a
 * second of migrations and loading), small beside the load. With --miss, the
 * miss scenario's load instead (bench/requests.ts invalidatingGets).
 * Usage: npm run build && node bench/profile-hit.ts [--miss] [--duration 8] [--connections 64]
 */
const DATABASE_NAME = 'nicaventas_bench_profile'
const NAMESPACE = 'nicaventas_bench_profile'
const PROFILE_DIRECTORY = join(import.meta.dirname, '..', 'bench-results', 'profile')
const TOP = 25

// The miss scenario deletes each answered location's keys through a client of its own.
const redis = process.argv.includes('--miss') ? connectToRedis() : undefined
const options = readBenchOptions(process.argv.slice(2).filter(argument => argument !== '--miss'))
if (!existsSync(join(import.meta.dirname, '..', 'dist', 'server.js'))) throw new Error('dist/server.js is missing: run `npm run build` first')

async function cleanUp (): Promise<void> {
  await stopAllChildren()
  await dropBenchData(DATABASE_NAME, NAMESPACE)
}
process.once('SIGINT', () => { cleanUp().finally(() => process.exit(130)) })

try {
  await dropBenchData(DATABASE_NAME, NAMESPACE)
  await mkdir(PROFILE_DIRECTORY, { recursive: true })
  const service = await startService({
    databaseName: DATABASE_NAME,
    namespace: NAMESPACE,
    token: randomBytes(24).toString('base64url'),
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIRECTORY}`]
  })
  const { readable } = await warmCache(service.baseUrl, benchLocations(NAMESPACE))
  const tally = new ResponseTally()
  const deleteErrors: string[] = []
  console.error(`profiling ${options.duration} s of ${redis === undefined ? 'hits' : 'misses'} at ${options.connections} connections over ${readable.length} locations`)
  const load = await measureLoad({
    url: service.baseUrl,
    connections: options.connections,
    durationSeconds: options.duration,
    requests: redis === undefined ? rotatingGets(readable, tally) : invalidatingGets(readable, tally, redis, error => { deleteErrors.push(error.message) }),
    serverPid: service.child.pid,
    neighbourPids: {}
  })
  console.error(`${load.requestsPerSecond.toFixed(0)} req/s under the profiler; answers ${JSON.stringify(tally.statuses)}, redis_cache ${JSON.stringify(tally.cacheOutcomes)}`)
  // Answers that arrive after the load has ended delete on a client about to close: only errors before then count.
  if (deleteErrors.length > 0) console.error(`the bench could not delete a location's keys ${deleteErrors.length} times: ${deleteErrors[0]}`)
  await stopChild(service.child)
  const path = await newestProfile(PROFILE_DIRECTORY)
  console.log(`${path}\n`)
  console.log(summariseProfile(await readProfile(path), TOP))
} finally {
  redis?.disconnect()
  await cleanUp()
}
