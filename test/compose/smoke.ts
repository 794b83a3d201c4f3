// `npm run test:compose`: docker-compose.yml, then docker-compose.yml with docker-compose.cluster.yml,
// built and started for real on whatever engine `docker` reaches (DOCKER_HOST included), and checked
// as a client would, through nginx on the published port only; each file is then scaled to three
// instances (`--profile scaled`) for the change streams (test/compose/stream-checks.ts). Everything it starts is removed at
// the end (`down -v`), also on failure and on Ctrl-C; the logs of containers that were not healthy
// are printed first. It needs an engine and minutes, so CI does not run it: run it before changing
// Dockerfile, deploy/ or docker-compose*.yml.
//
// Its secrets are its own (random, in a temporary env file), never the developer's .env; its
// images are tagged nicaventas-disponibilidad:compose-smoke. COMPOSE_SMOKE_PORT picks the published
// port (8000 by default; it stops if the port is taken); COMPOSE_SMOKE_HOST is where that port is
// reached (127.0.0.1 by default; a remote engine's address).
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { allowedValues, runReadersWriters, type Send } from '../support/stale-read-check.ts'
import { CheckFailure, client, type Client } from './client.ts'
import { composeProject, docker, endRunningCommands, type ComposeProject } from './compose-project.ts'
import { isUnwell } from './containers.ts'
import { changeDelivery, ofrepAndConsole, streamsThroughNginx } from './stream-checks.ts'
import { assertPortFree, chosenPort, smokeEnvironment, type SmokeEnvironment } from './smoke-environment.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
const SINGLE = ['docker-compose.yml']
const CLUSTER = ['docker-compose.yml', 'docker-compose.cluster.yml']
const CLUSTER_NODES = [1, 2, 3, 4, 5, 6].map(n => `redis-node-${n}`)
// The Flask service's curl examples (README), as its clients send them.
const FLASK_GET = '/active?country=ni&city=Managua'
const FLASK_PUT = '{"city":"Managua", "country":"NI", "active":"False"}'
const UP_TIMEOUT_S = 300

const project = `nicaventas-smoke-${randomBytes(3).toString('hex')}`
const timings: Array<[string, number]> = []
let environment: SmokeEnvironment | undefined
/** The stack that is up now (until its `down -v` succeeded): what a failure or a signal tears down. */
let current: ComposeProject | undefined
let interrupted = false
let stopping: Promise<void> | undefined

const say = (line: string) => console.log(`\n==> ${line}`)
const ok = (line: string) => console.log(`ok   ${line}`)

async function timed<T> (what: string, work: () => Promise<T>): Promise<T> {
  const startedAt = performance.now()
  try {
    return await work()
  } finally {
    timings.push([what, (performance.now() - startedAt) / 1000])
  }
}

async function checkEngine (): Promise<void> {
  const engine = await docker(['version', '--format', '{{.Server.Version}}'], process.env)
  if (engine.code !== 0) {
    const where = process.env.DOCKER_HOST === undefined ? 'the default socket' : `DOCKER_HOST=${process.env.DOCKER_HOST}`
    throw new CheckFailure(`no Docker engine answers on ${where}: start Docker, or point DOCKER_HOST at an engine. docker said: ${engine.output.trim()}`)
  }
  const compose = await docker(['compose', 'version', '--short'], process.env)
  if (compose.code !== 0) {
    throw new CheckFailure(`\`docker compose\` (Compose v2, 2.17 or later: up --wait --wait-timeout) is not installed: ${compose.output.trim()}`)
  }
  ok(`engine ${engine.output.trim()}, Compose ${compose.output.trim()}, project ${project}`)
}

async function up (files: string[]): Promise<ComposeProject> {
  const { env, envFile } = environment as SmokeEnvironment
  const stack = composeProject({ name: project, directory: ROOT, files, envFile, env })
  say(`${stack.command} up --build --wait   (building and starting: minutes)`)
  await start(stack, ['--build'])
  ok('every container healthy (or its one-shot job done)')
  return stack
}

/** The running stack with `--profile scaled`: app-replica's two instances join app behind nginx, three in all. */
async function scaleUp (stack: ComposeProject): Promise<ComposeProject> {
  const scaled = composeProject({ ...stack.options, profiles: ['scaled'] })
  say(`${scaled.command} up --wait   (two more instances of the service, from the image built above)`)
  await start(scaled, [])
  // nginx re-resolves `availability` every 5 s (resolver valid=5s, deploy/nginx.conf): one turn to see the new instances.
  await sleep(6000)
  ok('three instances of the service healthy behind nginx')
  return scaled
}

async function start (stack: ComposeProject, flags: string[]): Promise<void> {
  current = stack
  const { code, output } = await stack.run(['up', ...flags, '--wait', '--wait-timeout', String(UP_TIMEOUT_S)])
  if (interrupted) throw new Error('interrupted')
  if (code !== 0) {
    const taken = /port is already allocated|address already in use/.test(output)
      ? ' The published port was taken meanwhile: choose another with COMPOSE_SMOKE_PORT=<port>.'
      : ''
    throw new CheckFailure(`\`up ${flags.join(' ')} --wait\` failed (exit ${code}).${taken} Its last lines, then the logs of the ` +
      `containers that were not healthy, which say why:\n${output.trim().split('\n').slice(-30).map(line => `  | ${line}`).join('\n')}`)
  }
}

/** Prints the logs of containers that are not healthy and of `services`, then removes the stack, its volumes and its network. */
async function tearDown (stack: ComposeProject, services: string[] = []): Promise<void> {
  const containers = await stack.containers().catch(() => [])
  const shown = new Set<string>()
  for (const container of containers.filter(isUnwell)) {
    shown.add(container.Service)
    if (container.State === 'created') {
      console.log(`\n--- ${container.Name} never started (it waits for what it depends on)`)
      continue
    }
    const health = container.Health === undefined || container.Health === '' ? '' : `, ${container.Health}`
    const exit = container.State === 'exited' ? `, exit code ${container.ExitCode}` : ''
    console.log(`\n--- ${container.Name} was not healthy (${container.State}${health}${exit}); its last 60 log lines:`)
    console.log(await stack.logs(container.Service, 60))
  }
  for (const service of services.filter(name => !shown.has(name) && containers.some(container => container.Service === name))) {
    console.log(`\n--- the last 30 log lines of ${service}:`)
    console.log(await stack.logs(service, 30))
  }
  say(`${stack.command} down -v`)
  const down = await stack.run(['down', '--volumes', '--remove-orphans', '--timeout', '10'])
  if (down.code === 0) current = undefined
  else if (!interrupted) console.error(`could not tear down (${down.output.trim()}): run \`${stack.command} down -v\` by hand`)
}

function expectFields (api: Client, answer: Awaited<ReturnType<Client['send']>>, expected: Record<string, unknown>, what: string): void {
  const body = api.json(answer, what)
  for (const [field, value] of Object.entries(expected)) {
    if (body[field] === value) continue
    const hint = field === 'redis_cache' && body[field] === 'bypass'
      ? ': the service answered without its cache, it cannot reach Redis (REDIS_LOCATION or REDIS_CLUSTER_NODES in the compose files)'
      : ''
    throw new CheckFailure(`${what}: expected "${field}": ${JSON.stringify(value)}, got ${answer.text}${hint}`, ['app'])
  }
}

/** The Flask service's curls: GET (miss), GET (hit), PUT with the token, GET (false, miss). */
async function flaskCurls (api: Client, token: string): Promise<void> {
  for (const [round, cache] of [['first', 'miss'], ['second', 'hit']]) {
    const answer = await api.send('GET', FLASK_GET)
    api.expectStatus(answer, 200, `GET ${FLASK_GET} (${round})`)
    expectFields(api, answer, { active: true, redis_cache: cache }, `GET ${FLASK_GET} (${round})`)
    ok(`GET ${FLASK_GET} → 200 ${answer.text}`)
  }
  const put = await api.send('PUT', '/active', { body: FLASK_PUT, token })
  api.expectStatus(put, 200, `PUT /active ${FLASK_PUT} with the token`)
  ok(`PUT /active ${FLASK_PUT} (the token from the environment) → 200 ${put.text}`)
  const after = await api.send('GET', FLASK_GET)
  api.expectStatus(after, 200, `GET ${FLASK_GET} after the PUT`)
  expectFields(api, after, { active: false, redis_cache: 'miss' }, `GET ${FLASK_GET} after the PUT`)
  ok(`GET ${FLASK_GET} → 200 ${after.text}`)
}

/** /metrics stays inside the network, /docs is served, a wrong token is refused. */
async function publicSurface (stack: ComposeProject, api: Client): Promise<void> {
  const metrics = await api.send('GET', '/metrics')
  if (metrics.status !== 404) {
    throw new CheckFailure(`GET /metrics through nginx answered ${metrics.status}: metrics must not be published (deploy/nginx.conf, location = /metrics)`, ['proxy'])
  }
  // The 404 is nginx's doing only if the service does serve /metrics behind it.
  const inside = await stack.run(['exec', '-T', 'app', 'node', '-e',
    "fetch('http://127.0.0.1:8000/metrics').then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(2))"])
  if (inside.code !== 0) throw new CheckFailure(`GET /metrics inside the app container did not answer 200 (exit ${inside.code}): ${inside.output.trim()}`, ['app'])
  ok('GET /metrics → 404 through nginx (200 inside the app container)')

  const docs = await api.send('GET', '/docs')
  api.expectStatus(docs, 200, 'GET /docs')
  if (!docs.contentType.startsWith('text/html') || !docs.text.includes('swagger-ui')) {
    throw new CheckFailure(`GET /docs answered 200 but not Swagger UI's page: ${docs.contentType} ${docs.text.slice(0, 200)}`, ['app'])
  }
  const spec = await api.send('GET', '/docs/json')
  api.expectStatus(spec, 200, 'GET /docs/json')
  if (typeof api.json(spec, 'GET /docs/json').openapi !== 'string') throw new CheckFailure(`GET /docs/json is no OpenAPI document: ${spec.text.slice(0, 200)}`, ['app'])
  ok('GET /docs → 200 Swagger UI; GET /docs/json → 200 the OpenAPI document')

  const wrong = await api.send('PUT', '/active', { body: '{"city":"Managua", "country":"NI", "active":"True"}', token: `wrong-${randomBytes(24).toString('hex')}` })
  api.expectStatus(wrong, 401, 'PUT /active with a wrong token')
  const unchanged = await api.send('GET', FLASK_GET)
  api.expectStatus(unchanged, 200, `GET ${FLASK_GET} after the refused PUT`)
  expectFields(api, unchanged, { active: false }, `GET ${FLASK_GET} after a PUT with a wrong token`)
  ok(`PUT /active with a wrong token → 401 ${wrong.text}; Managua still inactive`)
}

/** The app container's start time and health, as `docker inspect` has them. */
async function appState (stack: ComposeProject, id: string): Promise<{ startedAt: string, health: string }> {
  const { code, output } = await docker(['inspect', '--format', '{{.State.StartedAt}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id], stack.options.env)
  if (code !== 0) throw new CheckFailure(`docker inspect ${id}: ${output.trim()}`)
  const [startedAt = '', health = ''] = output.trim().split(' ')
  return { startedAt, health }
}

/**
 * `docker compose restart app` under a light load of readers and writers through nginx: no
 * read answers a value no write allows (test/support/stale-read-check.ts), and each location
 * ends with its last acknowledged write. Requests refused while the only instance restarts
 * (nginx's 502) are expected; any other failure is not.
 */
async function restartUnderLoad (stack: ComposeProject, api: Client, token: string): Promise<void> {
  const initial = new Map<string, boolean>()
  for (const city of ['León', 'Granada']) {
    const answer = await api.send('GET', `/active?country=NI&city=${encodeURIComponent(city)}`)
    api.expectStatus(answer, 200, `GET ${city}`)
    initial.set(city, api.json(answer, `GET ${city}`).active as boolean)
  }
  // A refused request pauses its reader or writer a little: the load stays light while nginx answers 502 at once.
  const send: Send = async (method, url, body) => {
    const answer = await api.send(method, url.slice(api.base.length), body === undefined ? {} : { body, token })
      .catch(async (error: unknown) => { await sleep(100); throw error })
    if (answer.status !== 200) await sleep(100)
    return { status: answer.status, body: answer.text }
  }
  const id = (await stack.run(['ps', '--quiet', 'app'])).output.trim()
  const before = await appState(stack, id)
  let healthyAt = Number.POSITIVE_INFINITY
  const restart = (async () => {
    await sleep(2000)
    const restarted = await stack.run(['restart', 'app'])
    if (restarted.code !== 0) throw new CheckFailure(`docker compose restart app failed: ${restarted.output.trim()}`, ['app'])
    const deadline = Date.now() + 120_000
    for (;;) {
      const state = await appState(stack, id)
      if (state.startedAt !== before.startedAt && state.health === 'healthy') break
      if (Date.now() > deadline) throw new CheckFailure(`the app was not healthy again 120 s after \`docker compose restart app\` (${state.health})`, ['app'])
      await sleep(500)
    }
    healthyAt = performance.now()
    // Load on the restarted instance too.
    await sleep(3000)
  })()
  const result = await runReadersWriters({ baseUrls: [api.base], initial, durationMs: 1000, until: restart, readers: 4, writers: 4, send })
  await restart

  if (result.violations.length > 0) {
    throw new CheckFailure(`${result.violations.length} stale read(s) through nginx around the restart: ${result.violations.slice(0, 5).join('; ')}`, ['app'])
  }
  const refusals = new Map<string, number>()
  for (const failure of result.failures) {
    const status = / → (\d{3}) /.exec(failure)?.[1]
    if (status !== undefined && !['502', '503', '504'].includes(status)) {
      throw new CheckFailure(`around the restart, a request answered other than 200 or an unavailable instance's 502/503/504: ${failure}`, ['proxy', 'app'])
    }
    const kind = status ?? 'no answer'
    refusals.set(kind, (refusals.get(kind) ?? 0) + 1)
  }
  const readsAfter = result.reads.filter(read => read.startedAt > healthyAt).length
  const writesAfter = [...result.writes.values()].flat().filter(write => write.startedAt > healthyAt && write.ackedAt !== Number.POSITIVE_INFINITY).length
  if (readsAfter === 0 || writesAfter === 0) {
    throw new CheckFailure(`after its restart the app served ${readsAfter} read(s) and acknowledged ${writesAfter} write(s) through nginx: it should serve both`, ['proxy', 'app'])
  }
  for (const city of initial.keys()) {
    const startedAt = performance.now()
    const answer = await api.send('GET', `/active?country=NI&city=${encodeURIComponent(city)}`)
    api.expectStatus(answer, 200, `GET ${city} after the load`)
    const value = api.json(answer, `GET ${city}`).active as boolean
    const allowed = allowedValues(result.writes.get(city) ?? [], initial.get(city) as boolean, { city, value, startedAt, endedAt: performance.now() })
    if (!allowed.has(value)) throw new CheckFailure(`${city} answers active=${value} after the load, but its last acknowledged write set ${!value}: a write was lost`, ['app'])
  }
  const refused = [...refusals].map(([kind, count]) => `${count} × ${kind}`).join(', ') || 'none'
  ok(`docker compose restart app under load: ${result.reads.length} reads (${result.decisive} with one right answer, ${readsAfter} after the restart), ` +
    `${result.acknowledged} acknowledged writes (${writesAfter} after); refused while it restarted: ${refused}; no stale read, no lost write`)
}

/** The cluster's nodes hold the service's keys and the single Redis holds none: the hits came from the cluster. */
async function cacheIsInCluster (stack: ComposeProject): Promise<void> {
  const size = async (service: string) => {
    const { code, output } = await stack.run(['exec', '-T', service, 'redis-cli', 'dbsize'])
    if (code !== 0) throw new CheckFailure(`redis-cli dbsize in ${service}: ${output.trim()}`, [service])
    return Number(output.trim())
  }
  const nodes = await Promise.all(CLUSTER_NODES.map(size))
  const single = await size('redis')
  if (nodes.every(keys => keys === 0) || single !== 0) {
    throw new CheckFailure(`keys per cluster node ${nodes.join(', ')}, in the single redis ${single}: the service should cache in the cluster only (REDIS_CLUSTER_NODES)`, ['app'])
  }
  ok(`the cache is in the cluster: keys per node ${nodes.join(', ')}; the single redis holds none`)
}

async function run (): Promise<void> {
  const port = chosenPort()
  await checkEngine()
  await assertPortFree(port)
  environment = smokeEnvironment(port)
  const token = environment.variables.API_TOKENS as string
  const api = client(process.env.COMPOSE_SMOKE_HOST ?? '127.0.0.1', port)

  const single = await timed('up --build --wait (docker-compose.yml)', async () => await up(SINGLE))
  await timed('checks through nginx', async () => {
    await flaskCurls(api, token)
    await publicSurface(single, api)
  })
  await timed('restart under load', async () => await restartUnderLoad(single, api, token))
  const scaled = await timed('up --wait --profile scaled', async () => await scaleUp(single))
  await timed('streams, OFREP, console, bulk through nginx', async () => {
    await streamsThroughNginx(scaled, api, token)
    await ofrepAndConsole(api)
  })
  await timed('down -v', async () => await tearDown(scaled))

  const clustered = await timed('up --build --wait (with docker-compose.cluster.yml)', async () => await up(CLUSTER))
  await timed('checks on the cluster', async () => {
    await flaskCurls(api, token)
    await cacheIsInCluster(clustered)
  })
  const clusterScaled = await timed('up --wait --profile scaled (cluster)', async () => await scaleUp(clustered))
  await timed('change stream on the cluster', async () => await changeDelivery(clusterScaled, api, token))
  await timed('down -v (cluster)', async () => await tearDown(clusterScaled))
}

/** Ends what is still running, shows the logs of what was not healthy, tears down, removes the env file; once. */
async function finish (services: string[]): Promise<void> {
  stopping ??= (async () => {
    await endRunningCommands()
    if (current !== undefined) await tearDown(current, services)
    environment?.remove()
  })()
  await stopping
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) {
      console.error(`${signal}: still tearing down ${project}; wait, or run \`docker compose -p ${project} down -v\` yourself`)
      return
    }
    interrupted = true
    console.error(`\n${signal}: stopping, then tearing down ${project}`)
    finish([]).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  })
}

const startedAt = performance.now()
try {
  await run()
  await finish([])
  console.log(`\nPASS: docker compose, both files, checked through nginx in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`)
} catch (error) {
  if (!interrupted && timings.length > 0) {
    console.log(`\nFAIL: ${(error as Error).message}`)
    process.exitCode = 1
    await finish(error instanceof CheckFailure ? error.services : [])
  } else {
    await finish([])
  }
} finally {
  if (!interrupted && timings.length > 0) {
    console.log('\ntimings: ' + timings.map(([what, seconds]) => `${what} ${seconds.toFixed(1)} s`).join('; '))
  }
}
