import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { Availability } from '../schemas/location.ts'

/**
 * The least a cache hit can cost with this stack: bare Fastify (as
 * bench/baseline-server.ts) plus one Redis GET through ioredis with
 * auto-pipelining and a JSON.parse. The service's hit path should come close
 * to it; its p99 is the one to beat.
 */
const redis = new Redis({
  host: process.env.REDIS_LOCATION,
  port: Number(process.env.REDIS_PORT),
  enableAutoPipelining: true
})
const key = process.env.ANCHOR_KEY as string
await redis.set(key, JSON.stringify({ active: true, country: 'NI', city: 'Managua' }))

const app = Fastify({ logger: false })
app.get('/active', { schema: { response: { 200: Availability } } }, async () => {
  const cached = JSON.parse(await redis.get(key) as string) as Record<string, unknown>
  return { ...cached, redis_cache: 'hit' }
})

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
// SIGTERM ends the process normally, so a --cpu-prof run writes its profile.
process.once('SIGTERM', () => { app.close().then(() => redis.quit()).finally(() => process.exit(0)) })
