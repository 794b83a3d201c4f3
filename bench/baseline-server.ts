import Fastify from 'fastify'
import { Availability } from '../schemas/location.ts'

/**
 * The ceiling for any Fastify route on this machine: GET /active answering a
 * constant with the service's own response schema, so both serialise the
 * same way. No query validation, no Redis, no request ids: everything the
 * service does beyond this is the cost the hit/baseline ratio measures.
 *
 * BASELINE_LOG=off (the bench's default) is the true ceiling; BASELINE_LOG=info
 * logs like the service (Fastify's two request lines), to separate the cost
 * of request logging from the cost of our route.
 */
const logger = process.env.BASELINE_LOG === 'info' ? { level: 'info' } : false
const app = Fastify({ logger })

const answer = { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' as const }

app.get('/active', { schema: { response: { 200: Availability } } }, async () => answer)

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
// SIGTERM ends the process normally, so a --cpu-prof run writes its profile.
process.once('SIGTERM', () => { app.close().finally(() => process.exit(0)) })
