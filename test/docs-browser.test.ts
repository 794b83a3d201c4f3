import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { chromium } from 'playwright-core'
import { build } from './helper.ts'

const SCREENSHOTS = join(import.meta.dirname, '..', 'test-artifacts')

t.test('in a real browser, /docs lets a reader try GET /active for Managua and see the answer', async t => {
  const app = await build(t)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // This machine has no network: without these, Chromium keeps trying to reach Google's hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()

  await page.goto(`${address}/docs/`)
  const operation = page.locator('#operations-availability-getAvailability')
  await operation.locator('.opblock-summary').click()
  await operation.locator('.try-out__btn').click()
  await operation.locator('tr[data-param-name="country"] input').fill('NI')
  await operation.locator('tr[data-param-name="city"] input').fill('Managua')
  await operation.locator('.execute').click()

  const liveResponse = operation.locator('.live-responses-table .response')
  await liveResponse.locator('.response-col_status').waitFor({ timeout: 15_000 })
  t.equal((await liveResponse.locator('.response-col_status').innerText()).trim(), '200')
  const body = await liveResponse.locator('.response-col_description pre').first().innerText()
  t.match(body, /"active": true/)
  t.match(body, /"city": "Managua"/)

  await mkdir(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, 'docs-try-it-out.png'), fullPage: true })
})
