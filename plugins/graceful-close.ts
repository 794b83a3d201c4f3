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
  fastify.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })
}, { name: 'graceful-close' })
