import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import t from 'tap'
import { cleanUp, isolatedEnv } from './helper.ts'
import { freePort } from './support/port-free.ts'

const ROOT = join(import.meta.dirname, '..')

function startServer (env: Record<string, string>) {
  const child = spawn(process.execPath, ['server.ts'], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  child.stderr.on('data', chunk => { output += chunk })
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  return { child, exited, output: () => output }
}

async function waitForListening (port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      await fetch(`http://127.0.0.1:${port}/health`)
      return
    } catch {
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
  throw new Error(`nothing listens on ${port} after 30 s`)
}

t.test('the server starts, logs a generated token once, never logs a request\'s token, and stops on SIGTERM', async t => {
  const port = await freePort()
  const env = isolatedEnv({ API_TOKENS: '', LOG_LEVEL: 'info', PORT: String(port), HOST: '127.0.0.1' })
  t.teardown(() => cleanUp(env))
  const server = startServer(env)
  t.teardown(() => { server.child.kill('SIGKILL') })
  await waitForListening(port)

  const token = /accepts the generated bearer token (\S+)"/.exec(server.output())?.[1]
  t.ok(token, 'the token is in the log')
  const rejected = await fetch(`http://127.0.0.1:${port}/active`, {
    method: 'PUT',
    headers: { authorization: 'Bearer a-secret-that-must-not-be-logged', 'content-type': 'application/json' },
    body: JSON.stringify({ country: 'NI', city: 'Masaya', active: true })
  })
  t.equal(rejected.status, 401)
  const accepted = await fetch(`http://127.0.0.1:${port}/active`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ country: 'NI', city: 'Masaya', active: true })
  })
  t.equal(accepted.status, 200)

  server.child.kill('SIGTERM')
  const [code] = await server.exited
  t.equal(code, 0, 'a clean exit')
  const output = server.output()
  t.equal(output.split(token ?? '').length - 1, 1, 'the generated token appears once')
  t.notMatch(output, 'a-secret-that-must-not-be-logged')
  t.match(output, /"msg":"request completed"/, 'requests are logged')
})

t.test('a bad configuration stops the server before it listens, naming the variable', async t => {
  const server = startServer({ PORT: 'eighty', NODE_ENV: 'development' })
  const [code] = await server.exited
  t.not(code, 0)
  t.match(server.output(), /PORT/)
})

t.test('production refuses to start without API_TOKENS', async t => {
  const server = startServer({ NODE_ENV: 'production' })
  const [code] = await server.exited
  t.not(code, 0)
  t.match(server.output(), /API_TOKENS is not set/)
})

t.test('one log line per request: failures and slow answers at info, the rest at debug', async t => {
  for (const [level, expectsSuccessLine] of [['info', false], ['debug', true]] as const) {
    const port = await freePort()
    const env = isolatedEnv({ LOG_LEVEL: level, PORT: String(port), HOST: '127.0.0.1' })
    t.teardown(() => cleanUp(env))
    const server = startServer(env)
    t.teardown(() => { server.child.kill('SIGKILL') })
    await waitForListening(port)
    await fetch(`http://127.0.0.1:${port}/active?country=NI&city=Managua`, { headers: { 'x-request-id': 'found-1' } })
    await fetch(`http://127.0.0.1:${port}/active?country=NI&city=Nowhere`, { headers: { 'x-request-id': 'missing-1' } })
    server.child.kill('SIGTERM')
    await server.exited
    const lines = server.output().split('\n').filter(line => line.includes('"request completed"'))
    const found = lines.filter(line => line.includes('"reqId":"found-1"'))
    const missing = lines.filter(line => line.includes('"reqId":"missing-1"'))
    t.equal(missing.length, 1, `${level}: the 404 is logged once`)
    t.match(missing[0], /"statusCode":404/)
    t.equal(found.length, expectsSuccessLine ? 1 : 0, `${level}: the 200 is ${expectsSuccessLine ? '' : 'not '}logged`)
    t.notMatch(server.output(), /incoming request/, `${level}: no line when a request arrives`)
  }
})
