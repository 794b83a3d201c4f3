import { Type, type TSchema } from '@sinclair/typebox'

/** Fastify's standard error body. */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
  code: Type.Optional(Type.String()),
  error: Type.String(),
  message: Type.String()
}, { $id: 'ErrorResponse', additionalProperties: false, description: 'Fastify\'s standard error shape' })

const errorWith = (statusCode: number, error: string, message: string, description: string, options: object = {}): TSchema =>
  Type.Ref(ErrorResponse, { description, examples: [{ statusCode, error, message }], ...options })

export const BadRequest = errorWith(400, 'Bad Request', 'querystring must have required property \'city\'', 'A parameter is missing, empty, too long or malformed; the message names it')
export const Unauthorized = errorWith(401, 'Unauthorized', 'missing authorization header', 'The bearer token is missing, malformed or not accepted')
export const TooManyFailures = errorWith(429, 'Too Many Requests', 'Too many failed bearer tokens from this address; try again in 60 s',
  'This address sent AUTH_FAILURE_LIMIT tokens that were refused within AUTH_FAILURE_WINDOW_SECONDS; until it waits, its requests are refused without looking at their token', {
    headers: { 'retry-after': { type: 'integer', minimum: 1, description: 'Seconds to wait; a request sent before then starts the wait again' } }
  })
export const Forbidden = errorWith(403, 'Forbidden', 'This token may not change cities in CR; it may change NI',
  'The token is valid but its scope (API_TOKENS) does not allow this change: another country, or a read-only token; the message says which')
export const NotFound = errorWith(404, 'Not Found', 'No existen datos Asociados', 'No location with that country and city')
export const Conflict = errorWith(409, 'Conflict', 'NI/Managua already exists', 'That location already exists')
export const PayloadTooLarge = errorWith(413, 'Payload Too Large', 'Request body is too large', 'The body is larger than the service accepts (4 KiB)')
export const UnsupportedMediaType = errorWith(415, 'Unsupported Media Type', 'Unsupported Media Type', 'The body is not JSON')
export const InternalError = errorWith(500, 'Internal Server Error', 'Unexpected error; quote request id 6f1c… when reporting it', 'An unexpected failure; the message gives the request id to quote')
export const ServiceUnavailable = errorWith(503, 'Service Unavailable', 'Database unavailable; try again in a few seconds',
  'MySQL cannot be reached, or is too busy to answer within the request\'s budget, and nothing usable is cached', {
    // Plain JSON Schema: @fastify/swagger copies a header's schema as it is, TypeBox's symbols included.
    headers: { 'retry-after': { type: 'integer', minimum: 1, description: 'Seconds to wait before trying again' } }
  })

export const readErrors = {
  400: BadRequest,
  404: NotFound,
  500: InternalError,
  503: ServiceUnavailable
}

export const writeErrors = {
  ...readErrors,
  401: Unauthorized,
  403: Forbidden,
  413: PayloadTooLarge,
  429: TooManyFailures,
  415: UnsupportedMediaType
}

// Plain JSON Schema, for the same reason as Retry-After above.
export const TaggedHeaders = {
  etag: { type: 'string', description: 'A weak tag of the answer\'s data: send it back in If-None-Match' },
  'cache-control': { type: 'string', description: '`no-cache`: keep it, but ask again (conditionally) each time' }
}

export const NotModified = Type.Null({
  description: 'Not Modified: the answer still has the tag given in If-None-Match (or the header was `*`); no body',
  headers: { etag: TaggedHeaders.etag }
})
