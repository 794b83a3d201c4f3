import { Type, type TSchema } from '@sinclair/typebox'

/** Fastify's standard error body. */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
  code: Type.Optional(Type.String()),
  error: Type.String(),
  message: Type.String()
}, { $id: 'ErrorResponse', description: 'Fastify\'s standard error shape' })

const errorWith = (description: string): TSchema => Type.Ref(ErrorResponse, { description })

export const BadRequest = errorWith('A parameter is missing, empty, too long or malformed; the message names it')
export const Unauthorized = errorWith('The bearer token is missing, malformed or not accepted')
export const NotFound = errorWith('No location with that country and city: "No existen datos Asociados"')
export const Conflict = errorWith('That location already exists')
export const PayloadTooLarge = errorWith('The body is larger than the service accepts')
export const UnsupportedMediaType = errorWith('The body is not JSON')
export const InternalError = errorWith('An unexpected failure; the message gives the request id to quote')
export const ServiceUnavailable = errorWith('MySQL cannot be reached and nothing usable is cached')

export const readErrors = {
  400: BadRequest,
  404: NotFound,
  500: InternalError,
  503: ServiceUnavailable
}

export const writeErrors = {
  ...readErrors,
  401: Unauthorized,
  413: PayloadTooLarge,
  415: UnsupportedMediaType
}
