import t, { type Test } from 'tap'
import { buildApp } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { AUTH, cleanUp, isolatedEnv } from './helper.ts'

interface LogLine {
  level: number
  msg: string
  reqId?: string
  reason?: string
  err?: { stack?: string }
  res?: { statusCode: number }
}

/** The app as production logs it (info, JSON), its lines caught as they are written. */
async function appWithLog (t: Test) {
  const env = isolatedEnv({ LOG_LEVEL: 'info' })
  const written: string[] = []
  const app = await buildApp({ config: readConfig(env), logStream: { write: line => { written.push(line) } } })
  t.teardown(async () => {
    await app.close()
    await cleanUp(env)
  })
  await app.ready()
  const linesOf = (reqId: string) => written.filter(line => line.includes(`"reqId":"${reqId}"`))
  return { app, linesOf }
}

t.test('a refused, invalid, unknown or not-allowed request writes one line, its reason on it and no stack', async t => {
  const { app, linesOf } = await appWithLog(t)
  const requests = [
    { id: 'no-token', status: 401, reason: 'missing authorization header', method: 'PUT' as const, url: '/active', payload: { country: 'NI', city: 'Managua', active: true } },
    { id: 'wrong-token', status: 401, reason: 'invalid authorization header', method: 'PUT' as const, url: '/active', headers: { authorization: 'Bearer wrong' }, payload: { country: 'NI', city: 'Managua', active: true } },
    { id: 'bad-query', status: 400, reason: /^querystring\/country must be/, method: 'GET' as const, url: '/active?country=XX&city=' },
    { id: 'bad-body', status: 400, reason: /^body must have required property/, method: 'PUT' as const, url: '/active', headers: AUTH, payload: { country: 'NI' } },
    { id: 'missing-city', status: 404, reason: 'No existen datos Asociados', method: 'GET' as const, url: '/active?country=NI&city=Nowhere' },
    { id: 'unknown-path', status: 404, reason: 'Route GET:/nowhere not found', method: 'GET' as const, url: '/nowhere' },
    { id: 'patch', status: 405, reason: /^PATCH is not allowed on \/active/, method: 'PATCH' as const, url: '/active' }
  ]
  for (const { id, status, reason, ...request } of requests) {
    const response = await app.inject({ ...request, headers: { ...request.headers, 'x-request-id': id } })
    t.equal(response.statusCode, status, id)
    const lines = linesOf(id)
    t.equal(lines.length, 1, `${id}: one line`)
    const line = JSON.parse(lines[0] ?? '{}') as LogLine
    t.match(line, { level: 30, msg: 'request completed', res: { statusCode: status }, reason }, id)
    t.notOk(line.err, `${id}: no error object, so no stack`)
    t.ok((lines[0] ?? '').length < 700, `${id}: ${lines[0]?.length} bytes`)
  }
})

t.test('a 500 writes one line, at error, with the stack', async t => {
  const { app, linesOf } = await appWithLog(t)
  await app.mysql.query('DROP TABLE locations')
  const response = await app.inject({ url: '/active?country=NI&city=Managua', headers: { 'x-request-id': 'broken' } })
  t.equal(response.statusCode, 500)
  const lines = linesOf('broken')
  t.equal(lines.length, 1, 'one line')
  const line = JSON.parse(lines[0] ?? '{}') as LogLine
  t.match(line, { level: 50, msg: 'request completed', res: { statusCode: 500 } })
  t.match(line.err?.stack, /doesn't exist[\s\S]*\n\s+at /, 'the driver\'s message and the stack, for whoever reads the log')
})
