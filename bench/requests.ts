import type autocannon from 'autocannon'
import type { Redis } from 'ioredis'
import type { BenchLocation } from './locations.ts'
import type { ResponseTally } from './response-tally.ts'

/** Hands out the locations in turn, shared by all connections, so each location comes back once per lap. */
function rotation (locations: BenchLocation[]): () => BenchLocation {
  let next = 0
  return () => {
    const location = locations[next] as BenchLocation
    next = (next + 1) % locations.length
    return location
  }
}

/** GET /active over the locations in turn: the hit scenario, and the bare server with the same generator cost. */
export function rotatingGets (locations: BenchLocation[], tally: ResponseTally): autocannon.Request[] {
  const nextLocation = rotation(locations)
  return [{
    method: 'GET',
    setupRequest: (request) => {
      request.path = nextLocation().path
      return request
    },
    onResponse: (status, body) => tally.record('GET', status, body)
  }]
}

interface MissContext { location?: BenchLocation }

/**
 * GET /active over the locations in turn, deleting a location's cache keys
 * as soon as its answer arrives. The service has filled the cache before it
 * answers, and the same location comes back only a lap later (hundreds of
 * requests), so the next request for it misses. The DEL is this process's
 * work, not the service's, though it shares the same cores.
 */
export function invalidatingGets (locations: BenchLocation[], tally: ResponseTally, redis: Redis, onRedisError: (error: Error) => void): autocannon.Request[] {
  const nextLocation = rotation(locations)
  return [{
    method: 'GET',
    setupRequest: (request, context) => {
      const location = nextLocation();
      (context as MissContext).location = location
      request.path = location.path
      return request
    },
    onResponse: (status, body, context) => {
      tally.record('GET', status, body)
      const location = (context as MissContext).location
      if (location !== undefined) redis.del(...location.keys).catch(onRedisError)
    }
  }]
}

/** One authenticated PUT every PUT_EVERY requests: 5% writes. */
const PUT_EVERY = 20

/**
 * 95% GET over the locations in turn and 5% PUT, each connection sending
 * 19 GETs then a PUT. A PUT writes the location's own demo value, so the
 * data stays the same while each write still runs the full update +
 * invalidation path (and the next GET for that location misses).
 */
export function mixedRequests (locations: BenchLocation[], tally: ResponseTally, token: string): autocannon.Request[] {
  const nextRead = rotation(locations)
  const nextWrite = rotation(locations)
  const get: autocannon.Request = {
    method: 'GET',
    setupRequest: (request) => {
      request.path = nextRead().path
      return request
    },
    onResponse: (status, body) => tally.record('GET', status, body)
  }
  const put: autocannon.Request = {
    method: 'PUT',
    path: '/active',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    setupRequest: (request) => {
      const { country, city, active } = nextWrite()
      request.body = JSON.stringify({ country, city, active })
      return request
    },
    onResponse: (status, body) => tally.record('PUT', status, body)
  }
  return [...Array.from({ length: PUT_EVERY - 1 }, () => get), put]
}
