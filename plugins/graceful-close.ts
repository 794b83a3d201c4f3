import { setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'

// Long enough for a loaded event loop to accept and read what clients have already sent.
const READ_PENDING_MS = 100

/**
 * While the server closes, every answer ends its connection. Fastify closes
 * the connections that are idle when close() starts; one that was busy with
 * a request becomes idle only after answering, and as a kept-alive
 * connection it would hold close() open for the whole keep-alive timeout.
 * Node counts a connection whose request it has not read yet as idle, and
 * closing resets it: the client loses a request it had sent before the
 * signal. The server reads what has arrived before it starts closing.
 */
export default fp(async function gracefulClose (fastify) {
  let closing = false
  fastify.addHook('preClose', async () => {
    closing = true
    if (fastify.server.listening) await sleep(READ_PENDING_MS)
  })
  // A callback hook, not an async one: it runs on every answer, and a promise each would be paid for nothing.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'graceful-close' })
