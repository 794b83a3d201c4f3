import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { httpErrors } from '@fastify/sensible'
import type { ChangeFanOut, StreamRequest } from '../services/changes/change-fan-out.ts'
import type { ChangeFilter } from '../services/changes/change-log.ts'
import type { StreamFormat } from '../services/changes/stream-formats.ts'
import { locationId } from '../domain/location.ts'
import { clientKeyOf } from '../services/auth/client-key.ts'
import { ChangeStreamHeaders, ChangeStreamQuery, EventStream } from '../schemas/change-stream.ts'
import { BadRequest, InternalError, ServiceUnavailable } from '../schemas/errors.ts'

/** Which changes a stream's query asks for; a city needs its country (400 otherwise). */
function filterOf ({ country, city }: { country?: string, city?: string }): ChangeFilter {
  if (city !== undefined && country === undefined) throw httpErrors.badRequest('querystring/city needs querystring/country')
  if (country === undefined) return {}
  return city === undefined ? { country: country.toUpperCase() } : locationId(country, city)
}

// At most 15 digits: every such id is exact as a JavaScript number.
const LAST_EVENT_ID = /^(0|[1-9][0-9]{0,14})$/

/** Last-Event-ID as the fan-out takes it: undefined when absent, null when it is not one of our ids. */
function lastEventIdOf (header: string | undefined): number | null | undefined {
  if (header === undefined) return undefined
  return LAST_EVENT_ID.test(header) ? Number(header) : null
}

// `no-transform` and X-Accel-Buffering: no proxy may hold events back to compress or buffer them
// (deploy/nginx.conf). `Connection: close`: the connection ends with the stream, as SIGTERM ends it.
const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store, no-transform',
  'x-accel-buffering': 'no',
  connection: 'close'
}

/**
 * Answers with a stream: the fan-out reads the resume first, so a refusal
 * (503 with Retry-After) or a failure still gets an ordinary answer; then
 * the reply is taken over from Fastify and stays open until either side
 * ends it. Taken over, it never reaches onResponse: it logs its own lines.
 */
async function sendStream (request: FastifyRequest, reply: FastifyReply, fanOut: ChangeFanOut, stream: StreamRequest): Promise<FastifyReply> {
  // A refusal (StreamRefusedError) is answered by plugins/error-handler.ts, with its Retry-After.
  const prepared = await fanOut.prepare(stream)
  reply.hijack()
  reply.raw.writeHead(200, { ...reply.getHeaders(), ...STREAM_HEADERS } as OutgoingHttpHeaders)
  const opened = performance.now()
  request.log.info({ filter: stream.filter, resumed: stream.lastEventId !== undefined }, 'Change stream opened')
  reply.raw.once('close', () => request.log.info({ durationMs: Math.round(performance.now() - opened) }, 'Change stream closed'))
  prepared.open(reply.raw)
  return reply
}

export interface StreamRoute {
  url: string
  format: StreamFormat
  /** The route's OpenAPI fields: tags, operationId, summary, description. */
  describe: { tags: string[], operationId: string, summary: string, description: string }
  /** What its 200 is, for OpenAPI. */
  streams: string
}

/**
 * A GET route answering with a change stream of `format`, filtered by its query and resumed from
 * Last-Event-ID. Without HEAD: a HEAD would take a subscriber's place and never be answered (the
 * stream never ends), so it is 405 like any method not served.
 */
export function streamRoute ({ url, format, describe, streams }: StreamRoute): FastifyPluginAsyncTypebox {
  return async (fastify: FastifyInstance) => {
    fastify.get(url, {
      exposeHeadRoute: false,
      schema: {
        ...describe,
        security: [],
        querystring: ChangeStreamQuery,
        headers: ChangeStreamHeaders,
        response: { 200: EventStream(streams), 400: BadRequest, 500: InternalError, 503: ServiceUnavailable }
      }
    }, async (request, reply) => {
      const { country, city } = request.query as { country?: string, city?: string }
      const stream = { filter: filterOf({ country, city }), format, client: clientKeyOf(request.ip), lastEventId: lastEventIdOf(request.headers['last-event-id'] as string | undefined) }
      return sendStream(request, reply, fastify.changeStream, stream)
    })
  }
}
