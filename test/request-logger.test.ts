import Fastify, { type FastifyBaseLogger } from 'fastify'
import t, { type Test } from 'tap'
import { requestLoggerFactory } from '../logging/request-logger.ts'

// An app logging at info into an array, with the lazy request logger, as app.ts builds it.
async function appLogging (t: Test, log: (request: { log: FastifyBaseLogger }) => void) {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({
    logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } },
    disableRequestLogging: true,
    childLoggerFactory: requestLoggerFactory
  })
  t.teardown(() => app.close())
  app.get('/', async request => { log(request); return 'ok' })
  app.get('/quiet', { logLevel: 'error' }, async request => { request.log.warn('below the route\'s level'); request.log.error('at the route\'s level'); return 'ok' })
  return { app, lines }
}

t.test('a line at or above the level is pino\'s child\'s: the request id bound; one below it is written nowhere', async t => {
  const { app, lines } = await appLogging(t, ({ log }) => {
    log.trace('trace')
    log.debug('debug')
    log.info({ detail: 1 }, 'info')
    log.warn('warn')
    log.error('error')
    log.fatal('fatal')
    log.silent('silent')
  })
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.same(lines.map(line => line.msg), ['info', 'warn', 'error', 'fatal'])
  t.ok(lines.every(line => typeof line.reqId === 'string' && line.reqId !== ''), 'each with the request id')
  t.equal(lines[0]?.detail, 1, 'and what the line adds')
})

t.test('the level: read from the parent until set, then the request\'s own; a child of the request logger keeps the request id', async t => {
  const levels: string[] = []
  const { app, lines } = await appLogging(t, ({ log }) => {
    levels.push(log.level)
    log.level = 'debug'
    levels.push(log.level)
    log.debug('now written')
    log.child({ part: 'inner' }).info('from a child')
  })
  await app.inject('/')
  t.same(levels, ['info', 'debug'])
  t.match(lines, [{ msg: 'now written', level: 20 }, { msg: 'from a child', part: 'inner' }])
  t.equal(lines[1]?.reqId, lines[0]?.reqId)
})

t.test('a route with a log level of its own gets pino\'s child at once, at that level', async t => {
  const { app, lines } = await appLogging(t, () => {})
  await app.inject('/quiet')
  t.same(lines.map(line => line.msg), ['at the route\'s level'])
})
