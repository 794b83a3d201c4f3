import type { FastifyRequest } from 'fastify'

/** Why a request failed, and how loudly to say it: told on the request's one log line. */
export interface RequestFailure {
  level: 'info' | 'warn' | 'error'
  details: Record<string, unknown>
}

const failures = new WeakMap<FastifyRequest, RequestFailure>()

/** Keeps a failure for the request's log line (logging/request-log-controller.ts) instead of logging a line of its own. */
export function noteFailure (request: FastifyRequest, failure: RequestFailure): void {
  failures.set(request, failure)
}

export function failureOf (request: FastifyRequest): RequestFailure | undefined {
  return failures.get(request)
}
