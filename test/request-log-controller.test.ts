import t from 'tap'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { RequestLogController } from '../logging/request-log-controller.ts'

// The controller decides what Fastify logs per request; a recording logger shows its decisions.
function completedRequest (statusCode: number, elapsedTime: number, error: Error | null = null) {
  const lines: Array<{ level: string, message: string, details: Record<string, unknown> }> = []
  const record = (level: string) => (details: Record<string, unknown>, message: string) => { lines.push({ level, message, details }) }
  const reply = { statusCode, elapsedTime, log: { error: record('error'), info: record('info'), debug: record('debug') } }
  new RequestLogController().requestCompleted(error, {} as FastifyRequest, reply as unknown as FastifyReply)
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
