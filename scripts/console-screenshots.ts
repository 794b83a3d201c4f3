import { join } from 'node:path'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import { chromium } from 'playwright-core'
import { buildApp } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { deleteCacheNamespace } from '../services/cache/keys.ts'

// Takes docs/console-1280.png and docs/console-360.png: the console signed in with a token scoped to
// Nicaragua and Costa Rica, Nicaragua's cities, one switched by the operator and its history open.
// Uses its own database and cache namespace (dropped at the end), and the machine's Chromium.
const TOKEN = 'screenshot-token-0123456789abcdef0123'
const DATABASE_NAME = 'nicaventas_console_screenshots'
const config = readConfig({
  ...process.env, LOG_LEVEL: 'warn', DATABASE_NAME, CACHE_NAMESPACE: DATABASE_NAME, DEMO_DATA: 'true', API_TOKENS: `ana[NI+CR]:${TOKEN}`
})
const app = await buildApp({ config })
const address = await app.listen({ host: '127.0.0.1', port: 0 })
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
})
try {
  for (const width of [1280, 360]) {
    const page = await browser.newPage({ viewport: { width, height: width === 360 ? 740 : 800 } })
    await page.goto(`${address}/console/`)
    await page.fill('#token', TOKEN)
    await page.click('#sign-in-form button[type="submit"]')
    await page.fill('#country', 'Nicaragua')
    await page.click('#country-form button[type="submit"]')
    await page.locator('#cities-title', { hasText: '(NI)' }).waitFor()
    if (width === 1280) {
      await page.click('#cities li[data-city="Granada"] button[role="switch"]')
      await page.getByText('Granada: ventas').waitFor()
      await page.click('#cities li[data-city="Granada"] button:has-text("Historial")')
      await page.locator('#history-rows tr').first().waitFor()
    }
    const target = join(import.meta.dirname, '..', 'docs', `console-${width}.png`)
    await page.screenshot({ path: target, fullPage: true })
    console.log(`wrote ${target}`)
  }
} finally {
  await browser.close()
  await app.close()
  const connection = await mysql.createConnection({ host: config.DATABASE_HOST, port: config.DATABASE_PORT, user: config.DATABASE_USER, password: config.DATABASE_PASSWORD })
  await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(DATABASE_NAME)}`)
  await connection.end()
  const redis = new Redis({ host: config.REDIS_LOCATION, port: config.REDIS_PORT })
  await deleteCacheNamespace(redis, DATABASE_NAME)
  await redis.quit()
}
