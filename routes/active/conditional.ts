import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TaggedAnswer } from '../../services/availability/service.ts'

const opaque = (tag: string) => tag.startsWith('W/') ? tag.slice(2) : tag

/**
 * RFC 9110, 13.1.2: If-None-Match holds `*` or a list of entity tags, compared weakly. Evaluated
 * whatever the request's Cache-Control says: that header speaks to caches on the way, and fetch()
 * adds `no-cache` to every request that sets If-None-Match itself (the `fresh` package, which lets
 * it force a 200, would then never answer such a client 304).
 */
function ifNoneMatchHolds (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  const wanted = opaque(etag)
  return header.split(',').some(candidate => opaque(candidate.trim()) === wanted)
}

/**
 * Sends an answer's tag with `Cache-Control: no-cache` (a cache may keep
 * it, but must ask again each time), and answers 304 without a body when
 * the request's If-None-Match holds the tag, a list holding it, or `*`.
 */
export function sendTagged<T> (request: FastifyRequest, reply: FastifyReply, answer: TaggedAnswer<T>): T | FastifyReply {
  reply.header('etag', answer.etag).header('cache-control', 'no-cache')
  if (!ifNoneMatchHolds(request.headers['if-none-match'], answer.etag)) return answer.body
  // No payload at all: a 304 carries neither a body nor its type and length.
  return reply.code(304).send()
}
