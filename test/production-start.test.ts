import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import packageJson from '../package.json' with { type: 'json' }
import { cleanUp, isolatedEnv } from './helper.ts'
import { buildImageLayout, runtime, withThisNode } from './support/image-layout.ts'
import { freePort } from './support/port-free.ts'
import { composeAppEnvironment, healthcheck, imageCommand, stageEnvironment } from './support/process-deployment.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'

// The image's start, without Docker: its CMD, from its WORKDIR, on a build laid out as the
// runtime stage lays it out, with the image's ENV and compose's app environment, pointed at
// the local MariaDB and Redis. Then the seed's curl examples, as HTTP requests.

t.setTimeout(180_000)

// The Flask service's published token works outside production only; an operator's own token here.
const FLASK_TOKEN = '2234hj234h2kkjjh42kjj2b20asd6918'
const SEED_TOKEN = randomBytes(32).toString('base64')

/**
 * What the container's environment would be: the image's ENV, overlaid with compose's app
 * environment (its secrets given as .env would), overlaid with what points it at local servers.
 */
function containerEnvironment (local: Record<string, string>, port: number, secrets: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...stageEnvironment(runtime),
    ...composeAppEnvironment(secrets),
    PORT: String(port),
    DATABASE_HOST: local.DATABASE_HOST as string,
    DATABASE_PORT: local.DATABASE_PORT as string,
    DATABASE_USER: local.DATABASE_USER as string,
    DATABASE_PASSWORD: local.DATABASE_PASSWORD as string,
    DATABASE_NAME: local.DATABASE_NAME as string,
    CACHE_NAMESPACE: local.CACHE_NAMESPACE as string,
    REDIS_LOCATION: local.REDIS_LOCATION as string,
    REDIS_PORT: local.REDIS_PORT as string
  }
}

let app = ''
t.before(async () => { app = await buildImageLayout(t) })

t.test('the image\'s start command with compose\'s environment serves the seed\'s curl examples', async t => {
  const port = await freePort()
  const local = isolatedEnv()
  t.teardown(() => cleanUp(local))
  // The local root account has no password; compose requires one, so a stand-in satisfies it before the local one replaces it.
  const env = {
    ...containerEnvironment(local, port, { API_TOKENS: `${SEED_TOKEN},a-rotated-token-0123456789abcdefghij`, DATABASE_PASSWORD: 'stand-in' }),
    API_TOKENS: `${SEED_TOKEN},a-rotated-token-0123456789abcdefghij`
  }
  t.match(env, { NODE_ENV: 'production', DEMO_DATA: 'true' }, 'production mode, demo data, from compose')

  const server = spawnServer(withThisNode(imageCommand(runtime)), { cwd: app, env })
  t.teardown(() => server.stop(2000))
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(server, `${base}/ready`, 200, 30_000)

  const root = await fetch(`${base}/`)
  t.equal(root.status, 200)
  t.match(await root.json(), { id: 'Servicio NicaVentas - Disponibilidad de Ventas', version: packageJson.version })

  // curl "localhost:8000/active?city=Managua&country=NI", twice
  const first = await fetch(`${base}/active?city=Managua&country=NI`)
  t.equal(first.status, 200)
  t.same(await first.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'miss' }, 'first: from MySQL')
  const second = await fetch(`${base}/active?city=Managua&country=NI`)
  t.same(await second.json(), { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' }, 'again: from Redis')

  const flask = await fetch(`${base}/active`, {
    method: 'PUT',
    body: '{"city":"Managua", "country":"NI", "active":"False"}',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${FLASK_TOKEN}` }
  })
  t.equal(flask.status, 401, 'the Flask service\'s published token is not one of ours')

  // curl -d '{"city":"Managua", "country":"NI", "active":"False"}' -H "Content-Type: application/json" -H "Authorization: Bearer <token>" -X PUT localhost:8000/active
  const put = await fetch(`${base}/active`, {
    method: 'PUT',
    body: '{"city":"Managua", "country":"NI", "active":"False"}',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${SEED_TOKEN}` }
  })
  t.equal(put.status, 200)
  t.match(await put.json(), { result: 'Ok', update: { country: 'NI', city: 'Managua', active: false } })

  const after = await fetch(`${base}/active?city=Managua&country=NI`)
  t.same(await after.json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' }, 'after the update: from MySQL again')

  const check = healthcheck(runtime).command
  const probe = () => spawnSync(withThisNode(check)[0] as string, withThisNode(check).slice(1), { env: { PORT: String(port) }, timeout: 15_000 })
  t.equal(probe().status, 0, 'the image\'s HEALTHCHECK passes against the running service')

  const exit = await server.stop()
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: a clean exit')
  t.equal(probe().status, 1, 'the HEALTHCHECK fails once the service is gone')

  const output = server.output()
  t.notMatch(output, SEED_TOKEN, 'the token is never logged')
  const lines = output.split('\n').filter(line => line.trim() !== '')
  t.ok(lines.length > 0 && lines.every(line => { try { JSON.parse(line); return true } catch { return false } }),
    'production logs are JSON lines')
})

t.test('production refuses to start without API_TOKENS, or with a guessable token, naming it', async t => {
  const local = isolatedEnv()
  t.teardown(() => cleanUp(local))
  const placeholder = /^API_TOKENS=(.*)$/m.exec(readFileSync(join(import.meta.dirname, '..', '.env.example'), 'utf8'))?.[1]
  const refusals: Array<[string | undefined, RegExp]> = [
    [undefined, /API_TOKENS is not set/],
    ['', /API_TOKENS is not set/],
    [' , ', /API_TOKENS is not set/],
    [`${SEED_TOKEN},ops-bot:short-Secret`, /API_TOKENS entry 2 is shorter than 32 characters/],
    [`${SEED_TOKEN},,${FLASK_TOKEN}`, /API_TOKENS entry 3 is the Flask service's published token/],
    [placeholder, /API_TOKENS entry 1 is shorter than 32 characters/]
  ]
  for (const [tokens, reason] of refusals) {
    const env = containerEnvironment(local, await freePort(), { API_TOKENS: 'stand-in', DATABASE_PASSWORD: 'stand-in' })
    if (tokens === undefined) delete env.API_TOKENS
    else env.API_TOKENS = tokens
    const server = spawnServer(withThisNode(imageCommand(runtime)), { cwd: app, env })
    t.teardown(() => server.stop(2000))
    const stillRunning = setTimeout(() => { server.stop(2000).catch(() => {}) }, 30_000)
    const exit = await server.exited
    clearTimeout(stillRunning)
    t.ok(exit.code !== null && exit.code !== 0, `API_TOKENS ${JSON.stringify(tokens)}: exits by itself, non-zero (${JSON.stringify(exit)})`)
    t.match(server.output(), reason, 'the output names API_TOKENS and what is wrong')
    t.notMatch(server.output(), /short-Secret|2234hj/, 'and no token')
    t.notOk(server.output().includes(SEED_TOKEN), 'not even the good one')
  }
})
