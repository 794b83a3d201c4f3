import { join } from 'node:path'
import t from 'tap'
import { AUTH, SECOND_TOKEN, TOKEN, build, cleanUp, isolatedEnv } from './helper.ts'
import { freePort } from './support/port-free.ts'
import { spawnServer, waitForStatus } from './support/process-server.ts'

const body = { country: 'NI', city: 'Managua', active: false }
const routes = [
  { method: 'PUT' as const, url: '/active', payload: body },
  { method: 'POST' as const, url: '/active', payload: { ...body, city: 'Jinotepe' } },
  { method: 'DELETE' as const, url: '/active?country=NI&city=Managua' }
]

t.test('every write route refuses a request without a valid bearer token, and changes nothing', async t => {
  // More refusals than the guessing limit allows one client by default: this test is about each one's answer.
  const app = await build(t, { AUTH_FAILURE_LIMIT: '1000' })
  const headers: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['empty header', { authorization: '' }],
    ['the scheme alone', { authorization: 'Bearer' }],
    ['the scheme and a space', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['the scheme without its space', { authorization: `Bearer${TOKEN}` }],
    ['a wrong token', { authorization: 'Bearer 2234hj234h2kkjjh42kjj2b20asd6918' }],
    ['a prefix of a valid token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['a valid token with more after it', { authorization: `Bearer ${TOKEN}x` }],
    ['two tokens', { authorization: `Bearer ${TOKEN}, Bearer ${SECOND_TOKEN}` }]
  ]
  for (const route of routes) {
    for (const [name, header] of headers) {
      const response = await app.inject({ ...route, headers: header })
      t.equal(response.statusCode, 401, `${route.method}: ${name}`)
      t.match(response.json(), { statusCode: 401, error: 'Unauthorized', message: String }, `${route.method}: ${name}`)
      t.match(response.headers['www-authenticate'], /^Bearer/)
    }
  }
  t.same((await app.inject({ url: '/active?country=NI&city=Managua' })).json().active, true, 'Managua is unchanged')
  t.equal((await app.inject({ url: '/active?country=NI&city=Jinotepe' })).statusCode, 404, 'nothing was created')
})

t.test('authentication comes before validation, so an anonymous caller learns nothing about the body', async t => {
  const app = await build(t)
  const response = await app.inject({ method: 'PUT', url: '/active', payload: { nonsense: true } })
  t.equal(response.statusCode, 401)
})

t.test('the scheme\'s name is case-insensitive (RFC 9110, 11.1): bearer, BEARER and Bearer all work', async t => {
  const app = await build(t)
  for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
    const response = await app.inject({ method: 'PUT', url: '/active', headers: { authorization: `${scheme} ${TOKEN}` }, payload: body })
    t.equal(response.statusCode, 200, scheme)
    t.equal((await app.inject({ url: '/active/history?country=NI&city=Managua', headers: { authorization: `${scheme} ${TOKEN}` } })).statusCode, 200, `${scheme}: history`)
  }
})

t.test('every configured token is accepted, so tokens rotate without downtime', async t => {
  const app = await build(t)
  for (const token of [TOKEN, SECOND_TOKEN]) {
    const response = await app.inject({ method: 'PUT', url: '/active', headers: { authorization: `Bearer ${token}` }, payload: body })
    t.equal(response.statusCode, 200)
  }
})

// Two operators, one of them rotating, and a bare token as the Flask service's examples have it.
const NAMED = { ana: 'ana-token-OLD-9f2c', anaRotated: 'ana-token-NEW-77b1', bot: 'bot-token-a71e', bare: '2234hj234h2kkjjh42kjj2b20asd6918' }
const NAMED_TOKENS = `ana:${NAMED.ana},ops-bot:${NAMED.bot},ana:${NAMED.anaRotated},${NAMED.bare}`

t.test('each operator\'s tokens are accepted; anything else, a name included, is refused', async t => {
  const app = await build(t, { API_TOKENS: NAMED_TOKENS })
  for (const token of Object.values(NAMED)) {
    const response = await app.inject({ method: 'PUT', url: '/active', headers: { authorization: `Bearer ${token}` }, payload: body })
    t.equal(response.statusCode, 200, `token ${token}`)
  }
  for (const token of [TOKEN, 'ana', 'ops-bot', 'operator', `ana:${NAMED.ana}`, `${NAMED.ana},${NAMED.bot}`, NAMED.bot.toUpperCase()]) {
    const response = await app.inject({ method: 'PUT', url: '/active', headers: { authorization: `Bearer ${token}` }, payload: body })
    t.equal(response.statusCode, 401, `token ${token}`)
  }
})

t.test('a write\'s log line, at info, names its operator, never the token', async t => {
  const port = await freePort()
  const env = isolatedEnv({ API_TOKENS: NAMED_TOKENS, LOG_LEVEL: 'info', PORT: String(port), HOST: '127.0.0.1' })
  t.teardown(() => cleanUp(env))
  const server = spawnServer([process.execPath, 'server.ts'], { cwd: join(import.meta.dirname, '..'), env: { ...env, PATH: process.env.PATH ?? '' } })
  t.teardown(() => server.stop())
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(server, `${base}/health`)

  const requests: Array<{ id: string, method: string, url: string, token?: string, status: number, operator?: string }> = [
    { id: 'ana-put', method: 'PUT', url: '/active', token: NAMED.ana, status: 200, operator: 'ana' },
    { id: 'ana-rotated-put', method: 'PUT', url: '/active', token: NAMED.anaRotated, status: 200, operator: 'ana' },
    { id: 'bot-delete-missing', method: 'DELETE', url: '/active?country=NI&city=Nowhere', token: NAMED.bot, status: 404, operator: 'ops-bot' },
    { id: 'bare-put', method: 'PUT', url: '/active', token: NAMED.bare, status: 200, operator: 'operator' },
    { id: 'unknown-put', method: 'PUT', url: '/active', token: 'unknown-token-SECRET', status: 401 },
    { id: 'read', method: 'GET', url: '/active?country=NI&city=Managua', status: 200 }
  ]
  for (const request of requests) {
    const response = await fetch(`${base}${request.url}`, {
      method: request.method,
      headers: {
        'x-request-id': request.id,
        ...(request.token === undefined ? {} : { authorization: `Bearer ${request.token}` }),
        ...(request.method === 'PUT' ? { 'content-type': 'application/json' } : {})
      },
      body: request.method === 'PUT' ? JSON.stringify(body) : undefined
    })
    await response.arrayBuffer()
    t.equal(response.status, request.status, request.id)
  }
  t.equal((await server.stop()).code, 0, 'a clean exit')

  const output = server.output()
  const completed = output.split('\n').filter(line => line.includes('"msg":"request completed"')).map(line => JSON.parse(line) as Record<string, unknown>)
  for (const request of requests) {
    const lines = completed.filter(line => line.reqId === request.id)
    if (request.id === 'read') {
      t.equal(lines.length, 0, 'a quick read is logged at debug only')
      continue
    }
    t.equal(lines.length, 1, `${request.id}: one line`)
    t.match(lines[0], { res: { statusCode: request.status } }, request.id)
    t.equal(lines[0]?.operator, request.operator, `${request.id}: operator ${request.operator ?? 'left out'}`)
    if (request.operator === undefined) t.notOk(lines[0] !== undefined && 'operator' in lines[0], `${request.id}: no operator field`)
  }
  for (const token of [...Object.values(NAMED), 'unknown-token-SECRET']) {
    t.notOk(output.includes(token), `token ${token} is not in the log`)
  }
})

t.test('reads need no token', async t => {
  const app = await build(t)
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).statusCode, 200)
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua', headers: AUTH })).statusCode, 200)
})
