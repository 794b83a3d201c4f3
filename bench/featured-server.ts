import { randomBytes } from 'node:crypto'
import { buildServerShell } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { sendAnswer } from '../routes/active/read.ts'
import { NotModified, readErrors, TaggedHeaders } from '../schemas/errors.ts'
import { Availability, LocationQuery, type AvailabilityAnswer } from '../schemas/location.ts'
import { weakEtag } from '../services/availability/etag.ts'

/**
 * The service without its data: the server and the plugins every request of the service passes
 * through (app.ts's buildServerShell: its logging, request ids, validation, security headers,
 * close, admission and metrics), and GET /active with the service's own schema and answer
 * (routes/active/read.ts's sendAnswer), answering a constant. Against the bare server, it is
 * what those per-request features cost in Fastify; against it, the local tier is what our own
 * lookup costs.
 */
const config = readConfig({ NODE_ENV: 'production', LOG_LEVEL: 'info', API_TOKENS: randomBytes(24).toString('base64url') })
const app = await buildServerShell({ config })

const answer: AvailabilityAnswer = { active: true, country: 'NI', city: 'Managua', redis_cache: 'hit' }
const tagged = { body: JSON.stringify(answer), etag: weakEtag('NI\nmanagua\ntrue') }

app.get('/active', {
  schema: { querystring: LocationQuery, response: { 200: { ...Availability, headers: TaggedHeaders }, 304: NotModified, ...readErrors } }
}, (request, reply) => { sendAnswer(request, reply, tagged) })

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
// SIGTERM ends the process normally, so a --cpu-prof run writes its profile.
process.once('SIGTERM', () => { app.close().finally(() => process.exit(0)) })
