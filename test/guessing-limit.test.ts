import { request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { AUTH, TOKEN, build } from './helper.ts'

const LIMIT = 5
const body = JSON.stringify({ country: 'NI', city: 'Managua', active: false })

interface Answer { status: number, retryAfter: string | undefined, body: string }

/** PUT /active over a real socket from `from`, one of the loopback addresses (127.0.0.0/8 is all local on Linux). */
async function putFrom (base: URL, from: string, token: string): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const request = httpRequest({
      host: base.hostname,
      port: base.port,
      localAddress: from,
      method: 'PUT',
      path: '/active',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, response => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', chunk => { text += chunk })
      response.on('end', () => {
        const retryAfter = response.headers['retry-after']
        resolve({ status: response.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, body: text })
      })
    })
    request.on('error', reject)
    request.end(body)
  })
}

async function listeningApp (t: Parameters<typeof build>[0], overrides: Record<string, string> = {}): Promise<URL> {
  const app = await build(t, { AUTH_FAILURE_LIMIT: String(LIMIT), ...overrides })
  return new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
}

t.test('a client that keeps guessing is answered 429 with Retry-After; another client and its right token are still served', async t => {
  const base = await listeningApp(t)
  const guesser = '127.0.0.2'
  const operator = '127.0.0.1'

  // 200 guesses, 32 at a time, as a script would send them.
  const answers: Answer[] = []
  let next = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < 200) {
      next++
      answers.push(await putFrom(base, guesser, `guess-${next}-${Math.random()}`))
    }
  }))
  const refused = answers.filter(answer => answer.status === 401)
  const limited = answers.filter(answer => answer.status === 429)
  t.equal(refused.length, LIMIT, `${LIMIT} guesses are looked at`)
  t.equal(limited.length, 200 - LIMIT, 'the rest are answered 429')
  for (const answer of limited) {
    const seconds = Number(answer.retryAfter)
    if (!(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60)) t.fail(`Retry-After ${answer.retryAfter} is not 1-60 s`)
  }
  t.match(JSON.parse(limited[0]?.body ?? '{}'), { statusCode: 429, error: 'Too Many Requests', message: /^Too many failed bearer tokens from this address; try again in \d+ s$/ })

  t.equal((await putFrom(base, guesser, TOKEN)).status, 429, 'while it waits, even a right token from the guesser is not looked at')
  t.equal((await putFrom(base, operator, TOKEN)).status, 200, 'an operator elsewhere is served')
  for (let i = 0; i < LIMIT; i++) t.equal((await putFrom(base, operator, 'mistyped')).status, 401, 'another client\'s mistakes are its own')
  t.equal((await putFrom(base, operator, 'mistyped')).status, 429, '...and so is its limit')
  t.equal((await putFrom(base, '127.0.0.3', TOKEN)).status, 200, 'a third client is still served')
})

t.test('right tokens are never counted, and the wait ends when the client stops for Retry-After seconds', async t => {
  const base = await listeningApp(t, { AUTH_FAILURE_WINDOW_SECONDS: '2' })
  const client = '127.0.0.4'
  for (let i = 0; i < 3 * LIMIT; i++) t.equal((await putFrom(base, client, TOKEN)).status, 200, 'an operator\'s writes are not limited')
  for (let i = 0; i < LIMIT; i++) await putFrom(base, client, 'wrong')
  const limited = await putFrom(base, client, TOKEN)
  t.equal(limited.status, 429)
  await sleep(Number(limited.retryAfter) * 1000 + 300)
  t.equal((await putFrom(base, client, TOKEN)).status, 200, 'served again after waiting as told')
})

t.test('behind a trusted proxy, the address it heard from is the client: a forged X-Forwarded-For entry changes nothing', async t => {
  const app = await build(t, { AUTH_FAILURE_LIMIT: String(LIMIT), TRUST_PROXY_HOPS: '1' })
  // As compose's nginx sends them: whatever the client sent, then the address nginx heard from.
  const viaProxy = (forwardedFor: string, token: string) => app.inject({
    method: 'PUT',
    url: '/active',
    remoteAddress: '172.18.0.5',
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor },
    payload: JSON.parse(body)
  })
  for (let i = 0; i < LIMIT; i++) t.equal((await viaProxy(`198.51.100.${i}, 203.0.113.7`, 'guess')).statusCode, 401)
  t.equal((await viaProxy('198.51.100.99, 203.0.113.7', 'guess')).statusCode, 429, 'a new forged entry does not make a new client')
  t.equal((await viaProxy('203.0.113.8', TOKEN)).statusCode, 200, 'another client behind the same proxy is served')
})

t.test('without a trusted proxy, X-Forwarded-For is not believed', async t => {
  const app = await build(t, { AUTH_FAILURE_LIMIT: String(LIMIT) })
  const guess = (forwardedFor: string) => app.inject({
    method: 'PUT', url: '/active', headers: { authorization: 'Bearer guess', 'x-forwarded-for': forwardedFor }, payload: JSON.parse(body)
  })
  for (let i = 0; i < LIMIT; i++) t.equal((await guess(`203.0.113.${i}`)).statusCode, 401)
  t.equal((await guess('203.0.113.200')).statusCode, 429)
  const history = await app.inject({ url: '/active/history?country=NI&city=Managua', headers: AUTH })
  t.equal(history.statusCode, 429, 'the history is behind the same limit')
  t.ok(Number(history.headers['retry-after']) >= 1)
})

t.test('addresses in one IPv6 /64 are one client; the next /64 is another', async t => {
  const app = await build(t, { AUTH_FAILURE_LIMIT: String(LIMIT) })
  const putFromAddress = async (remoteAddress: string, token: string) => (await app.inject({
    method: 'PUT', url: '/active', remoteAddress, headers: { authorization: `Bearer ${token}` }, payload: JSON.parse(body)
  })).statusCode
  for (let i = 0; i < LIMIT; i++) t.equal(await putFromAddress(`2001:db8:0:1::${i + 1}`, 'guess'), 401)
  t.equal(await putFromAddress('2001:db8:0:1:ffff:ffff:ffff:ffff', TOKEN), 429, 'another address of the same /64 waits too')
  t.equal(await putFromAddress('2001:db8:0:2::1', TOKEN), 200, 'the next /64 is served')
})
