import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyReply } from 'fastify'
import { httpErrors } from '@fastify/sensible'
import type { ChangeFanOut, StreamRequest } from '../../services/changes/change-fan-out.ts'
import type { ChangeFilter } from '../../services/changes/change-log.ts'
import { locationId } from '../../domain/location.ts'
import { StreamRefusedError } from '../../services/changes/change-fan-out.ts'

/** Which changes a stream's query asks for; a city needs its country (400 otherwise). */
export function filterOf ({ country, city }: { country?: string, city?: string }): ChangeFilter {
  if (city !== undefined && country === undefined) throw httpErrors.badRequest('querystring/city needs querystring/country')
  if (country === undefined) return {}
  return city === undefined ? { country: country.toUpperCase() } : locationId(country, city)
}

// At most 15 digits: every such id is exact as a JavaScript number.
const LAST_EVENT_ID = /^(0|[1-9][0-9]{0,14})$/

/** Last-Event-ID as the fan-out takes it: undefined when absent, null when it is not one of our ids. */
export function lastEventIdOf (header: string | undefined): number | null | undefined {
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
 * ends it.
 */
export async function sendStream (reply: FastifyReply, fanOut: ChangeFanOut, request: StreamRequest): Promise<FastifyReply> {
  let stream
  try {
    stream = await fanOut.prepare(request)
  } catch (error) {
    if (!(error instanceof StreamRefusedError)) throw error
    return reply.code(503).header('retry-after', String(error.retryAfterSeconds)).header('cache-control', 'no-store')
      .send({ statusCode: 503, error: 'Service Unavailable', message: error.message })
  }
  reply.hijack()
  reply.raw.writeHead(200, { ...reply.getHeaders(), ...STREAM_HEADERS } as OutgoingHttpHeaders)
  stream.open(reply.raw)
  return reply
}
