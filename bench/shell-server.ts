import { randomBytes } from 'node:crypto'
import { buildServerShell } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { restoreLargeHeapGrowth } from '../heap-growth.ts'
import { AVAILABILITY_ROUTE_SCHEMA, sendAnswer } from '../routes/active/read.ts'
import type { AvailabilityAnswer } from '../schemas/location.ts'
import { weakEtag } from '../services/availability/etag.ts'

/**
 * The service's shell without its data: the server and the plugins every request of the service
 * passes through (app.ts's buildServerShell: the request log and its ids, validation, security
 * headers, the close check, admission control, the request histogram), and GET /active with the
 * service's own schema and answer (routes/active/read.ts), answering a constant. Started as
 * server.ts starts the service (its heap flags and heap growth): against the bare server, it is
 * what those per-request features cost in Fastify; against it, the local tier is what our own
 * lookup costs.
 */
restoreLargeHeapGrowth()
const config = readConfig({ NODE_ENV: 'production', LOG_LEVEL: 'info', API_TOKENS: randomBytes(24).toString('base64url') })
const app = await buildServerShell({ config })

const answer: AvailabilityAnswer = { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' }
const tagged = { body: JSON.stringify(answer), etag: weakEtag('NI\nmanagua\ntrue') }

app.get('/active', { schema: AVAILABILITY_ROUTE_SCHEMA }, (request, reply) => { sendAnswer(request, reply, tagged) })

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
// SIGTERM ends the process normally, so a --cpu-prof run writes its profile.
process.once('SIGTERM', () => { app.close().finally(() => process.exit(0)) })
