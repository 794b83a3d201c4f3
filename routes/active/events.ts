import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ChangeStreamHeaders, ChangeStreamQuery, EventStream } from '../../schemas/change-stream.ts'
import { BadRequest, InternalError, ServiceUnavailable } from '../../schemas/errors.ts'
import { changeFormat } from '../../services/changes/stream-formats.ts'
import { filterOf, lastEventIdOf, sendStream } from './stream-response.ts'

const eventsRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/active/events', {
    // A HEAD would take a subscriber's place and never be answered (the stream never ends): 405, like any method not served.
    exposeHeadRoute: false,
    schema: {
      tags: ['availability'],
      operationId: 'streamChanges',
      security: [],
      summary: 'Every change to a location, as it happens (Server-Sent Events)',
      description: 'Opens with `event: hello` (its `id` and `data.latest_id` the newest change id), then one `event: change` per change, whoever made it, ' +
        'in the order MySQL committed them: `id` the change\'s id, `data` `{"country","city","active","action","version","changed_at"}` (`active` null for a delete). ' +
        'A comment line every 15 s at most keeps the connection alive. Reconnect with `Last-Event-ID` to receive every change missed, none twice; ' +
        'one too old to replay gets `event: reset` (read the state again). Filtered by `country`, and `city` (with `country`), matched like `GET /active`. ' +
        '`503` with `Retry-After` when this instance streams to as many subscribers as it may.',
      querystring: ChangeStreamQuery,
      headers: ChangeStreamHeaders,
      response: { 200: EventStream('The change stream; it lasts until either side closes it'), 400: BadRequest, 500: InternalError, 503: ServiceUnavailable }
    }
  }, async (request, reply) => {
    return sendStream(reply, fastify.changeStream, { filter: filterOf(request.query), format: changeFormat, lastEventId: lastEventIdOf(request.headers['last-event-id']) })
  })
}

export default eventsRoute
