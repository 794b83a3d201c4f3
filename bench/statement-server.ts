import Fastify from 'fastify'
import mysql from 'mysql2/promise'
import { locationId } from '../domain/location.ts'
import { Availability } from '../schemas/location.ts'
import { SELECT_ONE_LOCATION } from '../services/availability/location-store.ts'

/**
 * Bare Fastify plus one point select per request, the statement MariaDB's rate is measured with
 * (bench/point-selects.ts), through a mysql2 pool of the service's size, and no cache: what one
 * HTTP request with one statement costs on this machine, beside the miss, which adds the cache's
 * lease protocol and the service's per-request features (and, under a queue, shares statements).
 */
const pool = mysql.createPool({
  host: process.env.DATABASE_HOST,
  port: Number(process.env.DATABASE_PORT),
  user: process.env.DATABASE_USER,
  password: process.env.DATABASE_PASSWORD,
  database: process.env.DATABASE_NAME,
  connectionLimit: Number(process.env.POOL_SIZE)
})

interface Row extends mysql.RowDataPacket { country: string, city: string, active: number }

const app = Fastify({ logger: false })
app.get('/active', { schema: { response: { 200: Availability } } }, async (request) => {
  // Not validated, as a bare route would not: the bench sends only registered locations.
  const { country, city } = request.query as { country: string, city: string }
  const id = locationId(country, city)
  const [[row]] = await pool.query<Row[]>(SELECT_ONE_LOCATION, [id.country, id.cityKey])
  // Every location the bench asks for is registered: anything else is the bench's mistake, and counted as one.
  if (row === undefined) throw new Error(`${id.country}/${id.cityKey} is not in the database`)
  return { active: row.active === 1, country: row.country, city: row.city, redis_cache: 'miss' as const }
})

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
// SIGTERM ends the process normally, so a --cpu-prof run writes its profile.
process.once('SIGTERM', () => { app.close().then(() => pool.end()).finally(() => process.exit(0)) })
