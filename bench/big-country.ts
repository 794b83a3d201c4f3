// Measures what a country of 5,000 cities does to the service:
// the record sync's lag while PUTs land there and a client reads its list, Redis PING latency
// from another connection meanwhile, and /active hit latency and the server's RSS while 32
// clients read the list. The server runs as its own process, as `npm start` runs it.
// Usage: node bench/big-country.ts [list query, e.g. "&limit=500"]
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import { deleteCacheNamespace } from '../services/cache/keys.ts'

const CITIES = 5000
const PUTS = 300
const PORT = 18_000 + (process.pid % 1000)
const listQuery = process.argv[2] ?? ''
const name = `nv_bench_bigcountry_${process.pid}`
const env: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  PORT: String(PORT),
  HOST: '127.0.0.1',
  DATABASE_NAME: name,
  CACHE_NAMESPACE: name,
  API_TOKENS: 'bench-token',
  DEMO_DATA: 'true'
}
const agent = new Agent({ keepAlive: true, maxSockets: 64 })

function get (path: string, method = 'GET', body?: string): Promise<{ status: number, ms: number, bytes: number, text: string }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: PORT, path, method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json', authorization: 'Bearer bench-token' } }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, bytes: text.length, text })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}
const summary = (values: number[]) => `n=${values.length} p50=${percentile(values, 0.5).toFixed(1)} p99=${percentile(values, 0.99).toFixed(1)} max=${Math.max(...values).toFixed(1)} ms`

async function appliedUpTo (): Promise<number> {
  const { text } = await get('/metrics')
  return Number(/^nicaventas_cache_records_applied_up_to (\d+)/m.exec(text)?.[1])
}

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024

const server = spawn('node', ['--max-semi-space-size=32', '--max-old-space-size=256', 'server.ts'], { env, stdio: ['ignore', 'inherit', 'inherit'] })
const redis = new Redis()
const db = await mysql.createConnection({ host: '127.0.0.1', user: 'root' })
try {
  for (;;) {
    try { if ((await get('/health')).status === 200) break } catch {}
    await sleep(200)
  }
  await db.query(`USE ${name}`)
  const rows = Array.from({ length: CITIES }, (_, i) => `('GT', 'Ciudad ${i}', 'ciudad ${i}', ${i % 2})`)
  await db.query(`INSERT INTO locations (country, city, city_key, active) VALUES ${rows.join(',')}`)
  await sleep(2000)

  // Phase 1: PUTs in GT while one client reads the list every 200 ms; PING from another connection.
  const phase = { running: true }
  const pings: number[] = []
  const pinging = (async () => {
    while (phase.running) {
      const started = performance.now()
      await redis.ping()
      pings.push(performance.now() - started)
      await sleep(20)
    }
  })()
  const reading = (async () => {
    while (phase.running) { await get(`/active/cities?country=GT${listQuery}`); await sleep(200) }
  })()
  const lags: Array<[number, number]> = []
  const watching = (async () => {
    while (phase.running) {
      const [[{ newest }]] = await db.query('SELECT COALESCE(MAX(id), 0) AS newest FROM cache_invalidations') as unknown as [[{ newest: number }]]
      lags.push([Date.now(), Number(newest) - await appliedUpTo()])
      await sleep(250)
    }
  })()
  const putStatuses: Record<number, number> = {}
  for (let i = 0; i < PUTS; i += 30) {
    await Promise.all(Array.from({ length: 30 }, async (_, j) => {
      const { status } = await get('/active', 'PUT', JSON.stringify({ country: 'GT', city: `Ciudad ${(i + j) * 7}`, active: (i + j) % 3 === 0 }))
      putStatuses[status] = (putStatuses[status] ?? 0) + 1
    }))
  }
  const writesDone = Date.now()
  const [[{ newest }]] = await db.query('SELECT MAX(id) AS newest FROM cache_invalidations') as unknown as [[{ newest: number }]]
  let caughtUpMs = Number.NaN
  while (Date.now() - writesDone < 30_000) {
    if (await appliedUpTo() >= Number(newest)) { caughtUpMs = Date.now() - writesDone; break }
    await sleep(50)
  }
  phase.running = false
  await Promise.all([pinging, reading, watching])
  console.log(`PUT statuses ${JSON.stringify(putStatuses)}; newest record ${newest}`)
  console.log(`sync: largest lag ${Math.max(...lags.map(([, lag]) => lag))} records; caught up ${Number.isNaN(caughtUpMs) ? 'NOT within 30 s' : `${caughtUpMs} ms`} after the last PUT`)
  console.log(`Redis PING during the PUTs: ${summary(pings)}`)
  const slowlog = await redis.call('SLOWLOG', 'GET', '5') as unknown[]
  console.log(`SLOWLOG (5 newest): ${JSON.stringify(slowlog.map(entry => (entry as unknown[]).slice(2, 4)))}`)

  // Phase 2: 32 clients read the list for 15 s; one client reads a cached location.
  await get('/active?country=NI&city=Managua')
  const first = await get(`/active/cities?country=GT${listQuery}`)
  console.log(`list answer: ${first.bytes} bytes`)
  const flood = { on: true }
  let listAnswers = 0
  let peakRss = 0
  const hits: number[] = []
  const floodStarted = Date.now()
  const clients = Array.from({ length: 32 }, async () => {
    while (flood.on) { await get(`/active/cities?country=GT${listQuery}`); listAnswers++ }
  })
  const hitting = (async () => {
    while (flood.on) { hits.push((await get('/active?country=NI&city=Managua')).ms); await sleep(10) }
  })()
  const sampling = (async () => {
    while (flood.on) { peakRss = Math.max(peakRss, rss(server.pid as number)); await sleep(100) }
  })()
  await sleep(15_000)
  flood.on = false
  await Promise.all([...clients, hitting, sampling])
  console.log(`flood: ${(listAnswers / ((Date.now() - floodStarted) / 1000)).toFixed(0)} list answers/s; /active hits ${summary(hits)}; peak RSS ${peakRss.toFixed(0)} MB`)
} finally {
  server.kill('SIGTERM')
  await new Promise(resolve => server.once('close', resolve))
  await db.query(`DROP DATABASE IF EXISTS ${name}`)
  await db.end()
  await deleteCacheNamespace(redis, name)
  await redis.quit()
  agent.destroy()
}
