import { changeFormat } from '../../services/changes/stream-formats.ts'
import { streamRoute } from '../stream-route.ts'

const eventsRoute = streamRoute({
  url: '/active/events',
  format: changeFormat,
  describe: {
    tags: ['availability'],
    operationId: 'streamChanges',
    summary: 'Every change to a location, as it happens (Server-Sent Events)',
    description: 'Opens with `event: hello` (its `id` and `data.latest_id` the newest change id), then one `event: change` per change, whoever made it, ' +
      'in id order (a change is held back until every lower id has committed or been given up): `id` the change\'s id, `data` `{"country","city","active","action","version","changed_at"}` (`active` null for a delete). ' +
      'A comment line at least every `CHANGE_STREAM_KEEPALIVE_MS` (15 s by default) keeps the connection alive. Reconnect with `Last-Event-ID` to receive every change missed, none twice; ' +
      'one too old to replay gets `event: reset` (read the state again). Filtered by `country`, and `city` (with `country`), matched like `GET /active`. ' +
      '`503` with `Retry-After` when this instance streams to as many subscribers as it may, or is closing. HEAD is `405`.'
  },
  streams: 'The change stream; it lasts until either side closes it'
})

export default eventsRoute
