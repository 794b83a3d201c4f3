import Fastify, { type FastifyBaseLogger } from 'fastify'
import t, { type Test } from 'tap'
import { requestLoggerFactory } from '../logging/request-logger.ts'

// An app logging at info into an array, with the lazy request logger, as app.ts builds it.
async function appLogging (t: Test, log: (request: { log: FastifyBaseLogger }) => void, msgPrefix?: string) {
  const lines: Array<Record<string, unknown>> = []
  const flushes: string[] = []
  const stream = {
    write: (line: string) => { lines.push(JSON.parse(line)) },
    flush: (done: () => void) => { flushes.push(`after ${lines.length} lines`); done() }
  }
  const app = Fastify({
    logger: { level: 'info', stream, ...(msgPrefix !== undefined && { msgPrefix }) },
    disableRequestLogging: true,
    childLoggerFactory: requestLoggerFactory
  })
  t.teardown(() => app.close())
  app.get('/', async request => { log(request); return 'ok' })
  app.get('/quiet', { logLevel: 'error' }, async request => { request.log.warn('below the route\'s level'); request.log.error('at the route\'s level'); return 'ok' })
  return { app, lines, flushes }
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

// pino's own methods, which a library given request.log may call: the answers pino's child would give, child made or not.
type PinoLog = FastifyBaseLogger & { isLevelEnabled (level: string): boolean, bindings (): Record<string, unknown>, flush (done?: () => void): void, msgPrefix?: string }

t.test('isLevelEnabled, msgPrefix and flush: the parent\'s before the child exists, the child\'s after; bindings: the child\'s, request id included', async t => {
  const seen: Record<string, unknown> = {}
  const { app, lines, flushes } = await appLogging(t, ({ log }) => {
    const pino = log as PinoLog
    seen.before = { info: pino.isLevelEnabled('info'), debug: pino.isLevelEnabled('debug'), prefix: pino.msgPrefix }
    pino.flush(() => { seen.firstFlush = true })
    pino.info('a line')
    pino.flush()
    pino.level = 'debug'
    seen.after = { debug: pino.isLevelEnabled('debug'), trace: pino.isLevelEnabled('trace'), prefix: pino.msgPrefix }
    seen.bindings = pino.bindings()
  }, '[availability] ')
  await app.inject('/')
  t.same(seen.before, { info: true, debug: false, prefix: '[availability] ' }, 'the parent\'s level and prefix')
  t.same(seen.after, { debug: true, trace: false, prefix: '[availability] ' }, 'the request\'s own level once set')
  t.equal(seen.firstFlush, true, 'flush calls back')
  t.same(flushes, ['after 0 lines', 'after 1 lines'], 'and reaches the stream, before and after the child exists')
  t.match(lines, [{ msg: '[availability] a line' }])
  t.same(seen.bindings, { reqId: lines[0]?.reqId }, 'the request id, as the line carries it')
})

t.test('bindings asked first make the child: the request id is there before any line', async t => {
  let bindings: unknown
  const { app } = await appLogging(t, ({ log }) => { bindings = (log as PinoLog).bindings() })
  await app.inject('/')
  t.match(bindings, { reqId: /^req-/ })
})
