import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { AUTH, build } from './helper.ts'
import { launchChromium } from './support/chromium.ts'

const SCREENSHOTS = join(import.meta.dirname, '..', 'test-artifacts')

/** The app listening on a free port, and a page of a headless Chromium; both closed when the test ends. */
async function openDocs (t: Test): Promise<{ app: Awaited<ReturnType<typeof build>>, page: Page, blocked: string[] }> {
  const app = await build(t)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })

  const browser = await launchChromium(t)
  const page = await browser.newPage()
  // What the page's Content-Security-Policy stopped: Chromium says so on the console.
  const blocked: string[] = []
  page.on('console', message => { if (/Content Security Policy/i.test(message.text())) blocked.push(message.text()) })
  const response = await page.goto(`${address}/docs/`)
  t.match(response?.headers()['content-security-policy'], /frame-ancestors 'none'/, 'the page has its policy')
  return { app, page, blocked }
}

/** Fills GET /active's "Try it out" form, executes it and reads the answer Swagger UI shows. */
async function tryGetActive (page: Page, country: string, city: string): Promise<{ status: string, body: string }> {
  const operation = page.locator('#operations-availability-getAvailability')
  await operation.locator('.opblock-summary').click()
  await operation.locator('.try-out__btn').click()
  await operation.locator('tr[data-param-name="country"] input').fill(country)
  await operation.locator('tr[data-param-name="city"] input').fill(city)
  await operation.locator('.execute').click()

  // Swagger UI refuses a field it thinks invalid without sending anything: then no answer appears.
  const liveResponse = operation.locator('.live-responses-table .response')
  await liveResponse.locator('.response-col_status').waitFor({ timeout: 15_000 })
  return {
    status: (await liveResponse.locator('.response-col_status').innerText()).trim(),
    body: await liveResponse.locator('.response-col_description pre').first().innerText()
  }
}

t.test('in a real browser, /docs lets a reader try GET /active for Managua and see the answer', async t => {
  const { page, blocked } = await openDocs(t)
  const { status, body } = await tryGetActive(page, 'NI', 'Managua')
  t.same(blocked, [], 'the policy stopped nothing Swagger UI does')
  t.equal(status, '200')
  t.match(body, /"active": true/)
  t.match(body, /"city": "Managua"/)

  await mkdir(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, 'docs-try-it-out.png'), fullPage: true })
})

t.test('in a real browser, "Try it out" sends a city written in another script, and shows its answer', async t => {
  const { app, page } = await openDocs(t)
  const created = await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: { country: 'RU', city: 'Москва', active: true } })
  t.equal(created.statusCode, 201, created.body)

  const requested: string[] = []
  page.on('request', request => { if (request.url().includes('/active?')) requested.push(new URL(request.url()).searchParams.get('city') ?? '') })
  const { status, body } = await tryGetActive(page, 'RU', ' москва')
  t.same(requested, [' москва'], 'the browser sent the city as typed')
  t.equal(status, '200')
  t.match(body, /"active": true/)
  t.match(body, /"city": "Москва"/)

  await mkdir(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, 'docs-try-it-out-cyrillic.png'), fullPage: true })
})
