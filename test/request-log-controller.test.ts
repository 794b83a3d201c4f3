import t from 'tap'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { RequestLogController } from '../logging/request-log-controller.ts'

// The controller decides what Fastify logs per request; a recording logger shows its decisions.
function completedRequest (statusCode: number, elapsedTime: number, error: Error | null = null, handled?: Error) {
  const lines: Array<{ level: string, message: string, details: Record<string, unknown> }> = []
  const record = (level: string) => (details: Record<string, unknown>, message: string) => { lines.push({ level, message, details }) }
  const reply = { statusCode, elapsedTime, log: { error: record('error'), info: record('info'), debug: record('debug') } }
  const controller = new RequestLogController()
  const request = {} as FastifyRequest
  // Fastify's error path reports the error it sends first, then the completed request.
  if (handled !== undefined) controller.defaultErrorLog(handled, request, reply as unknown as FastifyReply)
  controller.requestCompleted(error, request, reply as unknown as FastifyReply)
  return lines
}

t.test('a quick success is logged at debug, a failure or a slow answer at info, a broken response at error', async t => {
  t.match(completedRequest(200, 0.4), [{ level: 'debug', message: 'request completed', details: { responseTime: 0.4 } }])
  t.match(completedRequest(404, 0.4), [{ level: 'info', message: 'request completed' }])
  t.match(completedRequest(503, 0.4), [{ level: 'info', message: 'request completed' }])
  t.match(completedRequest(200, 250), [{ level: 'info', message: 'request completed', details: { responseTime: 250 } }])
  const broken = new Error('socket hang up')
  t.match(completedRequest(200, 0.4, broken), [{ level: 'error', message: 'request errored', details: { err: broken } }])
})

t.test('an error Fastify sends adds no line: the request\'s one line gives a 4xx\'s reason, a 5xx\'s error and stack', async t => {
  const refused = new Error('invalid authorization header')
  t.match(completedRequest(401, 0.4, null, refused), [{ level: 'info', message: 'request completed', details: { reason: 'invalid authorization header' } }])
  t.notOk(completedRequest(401, 0.4, null, refused)[0]?.details.err, 'no error object for a 4xx')
  const broken = new Error('shed')
  t.match(completedRequest(503, 0.4, null, broken), [{ level: 'error', message: 'request completed', details: { err: broken } }])
})
