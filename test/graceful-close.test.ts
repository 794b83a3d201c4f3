import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { build } from './helper.ts'

t.test('a request the server has not accepted or read yet when closing starts is answered, not reset', async t => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  // Not even accepted yet: the connection and its request wait in the kernel for the event loop.
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  const ended = new Promise<string>(resolve => {
    socket.on('error', (error: Error) => resolve(`${answer}[${error.message}]`))
    socket.on('close', () => resolve(answer))
  })
  socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n')
  // At once, as a SIGTERM arriving with the request still in the socket's buffer.
  const closed = app.close()
  t.match(await ended, /^HTTP\/1\.1 200 OK\r\n/, 'answered 200')
  t.match(answer, /\r\nconnection: close\r\n/i, 'and told the connection ends')
  await closed
})
