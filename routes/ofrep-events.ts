import { refetchFormat } from '../services/changes/stream-formats.ts'
import { streamRoute } from './stream-route.ts'

/**
 * The event stream an OFREP bulk evaluation names (the protocol's ADR 0008): the change stream's
 * subscribers and resume, in the protocol's `refetchEvaluation` messages. Its refusals are the
 * service's, like GET /active/events'.
 */
const ofrepEventsRoute = streamRoute({
  url: '/ofrep/v1/events',
  format: refetchFormat,
  describe: {
    tags: ['ofrep'],
    operationId: 'streamRefetchEvaluation',
    summary: 'OFREP event stream: refetchEvaluation on every change (Server-Sent Events)',
    description: 'The stream a bulk evaluation\'s `eventStreams` names: for every change to the location (or the country, or anywhere, as filtered), ' +
      'a `message` whose data is `{"type":"refetchEvaluation","lastModified":<seconds>}`, its `id` the change\'s. A reconnection with `Last-Event-ID` ' +
      'that missed changes gets one such message at once.'
  },
  streams: 'refetchEvaluation messages; the stream lasts until either side closes it'
})

export default ofrepEventsRoute
