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
        'in id order (a change is held back until every lower id has committed or been given up): `id` the change\'s id, `data` `{"country","city","active","action","version","changed_at"}` (`active` null for a delete). ' +
        'A comment line at least every `CHANGE_STREAM_KEEPALIVE_MS` (15 s by default) keeps the connection alive. Reconnect with `Last-Event-ID` to receive every change missed, none twice; ' +
        'one too old to replay gets `event: reset` (read the state again). Filtered by `country`, and `city` (with `country`), matched like `GET /active`. ' +
        '`503` with `Retry-After` when this instance streams to as many subscribers as it may, or is closing. HEAD is `405`.',
      querystring: ChangeStreamQuery,
      headers: ChangeStreamHeaders,
      response: { 200: EventStream('The change stream; it lasts until either side closes it'), 400: BadRequest, 500: InternalError, 503: ServiceUnavailable }
    }
  }, async (request, reply) => {
    return sendStream(reply, fastify.changeStream, { filter: filterOf(request.query), format: changeFormat, lastEventId: lastEventIdOf(request.headers['last-event-id']) })
  })
}

export default eventsRoute
