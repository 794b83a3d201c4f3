import fp from 'fastify-plugin'

/**
 * While the server closes, every answer ends its connection. Fastify closes
 * the connections that are idle when close() starts; one that was busy with
 * a request becomes idle only after answering, and as a kept-alive
 * connection it would hold close() open for the whole keep-alive timeout.
 */
export default fp(async function gracefulClose (fastify) {
  let closing = false
  fastify.addHook('preClose', async () => { closing = true })
  // A callback hook, not an async one: it runs on every answer, and a promise each would be paid for nothing.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'graceful-close' })
