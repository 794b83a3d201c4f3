import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ChangeStreamHeaders, ChangeStreamQuery, EventStream } from '../schemas/change-stream.ts'
import { BadRequest, InternalError, ServiceUnavailable } from '../schemas/errors.ts'
import { refetchFormat } from '../services/changes/stream-formats.ts'
import { filterOf, lastEventIdOf, sendStream } from './active/stream-response.ts'

const ofrep = { tags: ['ofrep'], security: [] }

/**
 * The event stream an OFREP bulk evaluation names (the protocol's ADR 0008): the change stream's
 * subscribers and resume, in the protocol's `refetchEvaluation` messages. Its refusals are the
 * service's, like GET /active/events'.
 */
const ofrepEventsRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/ofrep/v1/events', {
    // A HEAD would take a subscriber's place and never be answered (the stream never ends): 405, like any method not served.
    exposeHeadRoute: false,
    schema: {
      ...ofrep,
      operationId: 'streamRefetchEvaluation',
      summary: 'OFREP event stream: refetchEvaluation on every change (Server-Sent Events)',
      description: 'The stream a bulk evaluation\'s `eventStreams` names: for every change to the location (or the country, or anywhere, as filtered), ' +
        'a `message` whose data is `{"type":"refetchEvaluation","lastModified":<seconds>}`, its `id` the change\'s. A reconnection with `Last-Event-ID` ' +
        'that missed changes gets one such message at once.',
      querystring: ChangeStreamQuery,
      headers: ChangeStreamHeaders,
      response: { 200: EventStream('refetchEvaluation messages; the stream lasts until either side closes it'), 400: BadRequest, 500: InternalError, 503: ServiceUnavailable }
    }
  }, async (request, reply) => {
    return sendStream(reply, fastify.changeStream, { filter: filterOf(request.query), format: refetchFormat, lastEventId: lastEventIdOf(request.headers['last-event-id']) })
  })
}

export default ofrepEventsRoute
