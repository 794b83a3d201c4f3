import { connect } from 'node:net'
import t from 'tap'
import { build } from './helper.ts'

const LIMIT = 3
const WINDOW_SECONDS = 60
const GUESSES = 60

interface Answer { status: number, retryAfter: string | undefined }

/**
 * Sends every request down one TCP connection in a single write, as a pipelining client does,
 * and reads the answers back in order. Node starts all the requests of one chunk before any
 * of them finishes, so this is the most concurrent way one client can guess.
 */
async function pipeline (base: URL, requests: string[]): Promise<Answer[]> {
  const received = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: base.hostname, port: Number(base.port) }, () => { socket.write(requests.join('')) })
    socket.on('data', chunk => chunks.push(chunk))
    socket.on('end', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
  })
  const answers: Answer[] = []
  let at = 0
  while (at < received.length) {
    const headEnd = received.indexOf('\r\n\r\n', at)
    if (headEnd === -1) throw new Error(`an answer without the end of its head: ${received.subarray(at).toString()}`)
    const [statusLine = '', ...headerLines] = received.subarray(at, headEnd).toString('latin1').split('\r\n')
    const headers = new Map(headerLines.map(line => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
    answers.push({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]), retryAfter: headers.get('retry-after') })
    at = headEnd + 4 + Number(headers.get('content-length') ?? 0)
  }
  return answers
}

const wrongTokenRequest = (i: number, last: boolean) => [
  i % 2 === 0 ? 'GET /active/history?country=NI&city=Managua HTTP/1.1' : 'DELETE /active?country=NI&city=Managua HTTP/1.1',
  'Host: localhost',
  `Authorization: Bearer guess-${i}`,
  // The last one asks the server to close the connection once it has answered them all.
  ...(last ? ['Connection: close'] : []),
  '', ''
].join('\r\n')

t.test('pipelined guesses on one connection are counted one by one: the limit holds', async t => {
  const app = await build(t, { AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_SECONDS) })
  const base = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))

  const answers = await pipeline(base, Array.from({ length: GUESSES }, (_, i) => wrongTokenRequest(i, i === GUESSES - 1)))
  t.equal(answers.length, GUESSES, 'every request is answered')
  const refused = answers.filter(answer => answer.status === 401).length
  const limited = answers.filter(answer => answer.status === 429)
  t.comment(`${refused} x 401, ${limited.length} x 429 of ${GUESSES} pipelined guesses (limit ${LIMIT})`)
  t.equal(refused, LIMIT, `${LIMIT} guesses are looked at`)
  t.equal(limited.length, GUESSES - LIMIT, 'the rest are answered 429')
  t.same(answers.slice(0, LIMIT).map(answer => answer.status), Array(LIMIT).fill(401), 'the first ones, in the order sent')
  for (const answer of limited) {
    const seconds = Number(answer.retryAfter)
    if (!(Number.isInteger(seconds) && seconds >= 1 && seconds <= WINDOW_SECONDS)) t.fail(`Retry-After ${answer.retryAfter} is not 1-${WINDOW_SECONDS} s`)
  }
  t.equal((await app.inject({ url: '/active?country=NI&city=Managua' })).json().active, true, 'nothing was deleted')
})
