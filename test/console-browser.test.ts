import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { Browser, Page } from 'playwright-core'
import { TOKEN, build } from './helper.ts'
import { launchChromium } from './support/chromium.ts'
import { directSql } from './support/direct-sql.ts'
import { eventStreamFront } from './support/event-stream-front.ts'

// An operator's whole session in the console, in the machine's Chromium: signing in, switching a
// city and seeing the public answer change, a second browser seeing it live, bulk changes with
// their confirmation, a city's history, adding and removing a city, a scoped token, the errors a
// person sees, the keyboard alone, and 360 px.

t.setTimeout(180_000)

const SCREENSHOTS = join(import.meta.dirname, '..', 'test-artifacts')
const NI_TOKEN = 'token-of-the-nicaraguan-team-0123456789'
const READ_TOKEN = 'token-of-the-auditor-0123456789abcdef'
// Live means about a second: the poll's interval, a request, and a margin for a loaded machine.
const LIVE_MS = 3000

interface Session { app: FastifyInstance, address: string, browser: Browser, problems: string[] }

async function start (t: Test): Promise<Session> {
  const app = await build(t, { API_TOKENS: `admin:${TOKEN},ni-team[NI]:${NI_TOKEN},audit[read]:${READ_TOKEN}`, DATABASE_WRITE_TIMEOUT_MS: '2000', CACHE_SYNC_INTERVAL_MS: '200' })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const browser = await launchChromium(t)
  return { app, address, browser, problems: [] }
}

/** A page of its own browser context (its own sessionStorage), 1280 px wide unless told. */
async function openConsole (session: Session, width = 1280): Promise<Page> {
  const context = await session.browser.newContext({ viewport: { width, height: 900 } })
  const page = await context.newPage()
  // What the policy blocked, and any script error: the session must end with none.
  page.on('console', message => { if (/Content Security Policy/i.test(message.text())) session.problems.push(message.text()) })
  page.on('pageerror', error => { session.problems.push(error.message) })
  await page.goto(`${session.address}/console/`)
  return page
}

async function signIn (page: Page, token: string): Promise<void> {
  await page.fill('#token', token)
  await page.click('#sign-in-form button[type="submit"]')
}

/** Chooses a country as typed, and waits for its list (`code`) to be the one shown. */
async function chooseCountry (page: Page, country: string, code: string): Promise<void> {
  await page.fill('#country', country)
  await page.click('#country-form button[type="submit"]')
  await page.locator('#cities-title', { hasText: `(${code})` }).waitFor()
  await page.locator('#cities li').first().waitFor()
}

const switchOf = (page: Page, city: string) => page.locator(`#cities li[data-city="${city}"] button[role="switch"]`)
const publicFlag = async (app: FastifyInstance, city: string) => (await app.inject({ url: `/active?country=NI&city=${encodeURIComponent(city)}` })).json().active

t.test('an operator\'s session in the console, in a real browser', async t => {
  const session = await start(t)
  const { app } = session
  const sql = await directSql(t, app)
  const page = await openConsole(session)
  const response = await page.goto(`${session.address}/console/`)
  t.match(response?.headers()['content-security-policy'], /script-src 'self';.*frame-ancestors 'none'|frame-ancestors 'none';.*script-src 'self'/, 'the page allows only its own scripts, and no framing')
  t.equal(response?.headers()['x-content-type-options'], 'nosniff')

  // 1. A refused token is said so; the right one signs in and says who and what they may change.
  await signIn(page, 'not-a-token')
  await t.resolves(page.getByText('El servicio rechazó el token').waitFor(), 'a refused token is explained')
  await signIn(page, TOKEN)
  await page.getByText('Conectado como admin').waitFor()
  t.equal(await page.locator('#who-scope').innerText(), 'Puede cambiar ciudades de todos los países.')
  t.equal(await page.evaluate(() => sessionStorage.getItem('nicaventas.token')), TOKEN, 'the token is in sessionStorage')
  t.same(await page.evaluate(() => Object.keys(localStorage)), [], 'and not in localStorage')
  t.same(await page.context().cookies(), [], 'nor in a cookie')
  t.notMatch(page.url(), TOKEN, 'nor in the URL')

  // 2. A country chosen by its Spanish name; its cities with their flags.
  await chooseCountry(page, 'nicaragua', 'NI')
  t.equal(await page.locator('#cities-title').innerText(), 'Ciudades de Nicaragua (NI)')
  t.same(await page.locator('#cities li .city-name').allInnerTexts(), ['Granada', 'León', 'Managua', 'Masaya', 'Rivas'])
  t.equal(await switchOf(page, 'Managua').getAttribute('aria-checked'), 'true')

  // 3. A second browser context, signed in too, watches Nicaragua.
  const watcher = await openConsole(session)
  await signIn(watcher, TOKEN)
  await chooseCountry(watcher, 'NI', 'NI')
  await t.resolves(watcher.getByText('En vivo: los cambios llegan por el flujo de cambios del servicio.').waitFor(), 'the page follows the service\'s change stream, and says so')

  // 4. Switching Managua off: pending while MySQL holds the row, refused with a 503 a person understands, then done.
  const holder = await directSql(t, app)
  await holder.beginTransaction()
  await holder.query("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'managua' FOR UPDATE")
  await switchOf(page, 'Managua').click()
  await t.resolves(page.locator('#cities li[data-city="Managua"] button[role="switch"][aria-busy="true"]').waitFor({ timeout: 1000 }), 'pending until the server answers')
  t.equal(await switchOf(page, 'Managua').innerText(), 'Guardando…')
  await page.getByText(/MySQL está ocupado, inténtalo de nuevo en \d+ s\. No se aplicó ningún cambio\./).waitFor({ timeout: 10_000 })
  t.equal(await switchOf(page, 'Managua').getAttribute('aria-checked'), 'true', 'the switch shows what is stored: still on')
  await holder.rollback()
  await switchOf(page, 'Managua').click()
  await page.getByText('Managua: ventas desactivadas.').waitFor()
  t.equal(await switchOf(page, 'Managua').getAttribute('aria-checked'), 'false')
  t.equal(await publicFlag(app, 'Managua'), false, 'the public GET /active answers false')

  // 5. The second context sees it live, and a change made in SQL too.
  let started = performance.now()
  await watcher.locator('#cities li[data-city="Managua"] button[role="switch"][aria-checked="false"]').waitFor({ timeout: LIVE_MS })
  const apiChangeMs = performance.now() - started
  started = performance.now()
  await sql.query("UPDATE locations SET active = TRUE WHERE country = 'NI' AND city_key = 'rivas'")
  await watcher.locator('#cities li[data-city="Rivas"] button[role="switch"][aria-checked="true"]').waitFor({ timeout: LIVE_MS + 1000 })
  t.comment(`the second context saw the PUT after ${apiChangeMs.toFixed(0)} ms, the SQL edit after ${(performance.now() - started).toFixed(0)} ms`)

  // 6. A bulk change of the filtered cities, cancelled once, then confirmed: the dialog says how many change.
  await page.fill('#filter', 'MA')
  t.same(await page.locator('#cities li .city-name').allInnerTexts(), ['Managua', 'Masaya'], 'the filter ignores case')
  await page.click('#bulk-on')
  t.equal(await page.locator('#confirm-text').innerText(), '¿Activar las ventas en las 2 ciudades filtradas de Nicaragua (NI)? Cambiarán 2 ciudades.')
  await page.keyboard.press('Escape')
  t.equal(await publicFlag(app, 'Masaya'), false, 'cancelled: nothing changed')
  await page.click('#bulk-on')
  await page.click('#confirm-yes')
  await page.getByText('Cambio masivo hecho: 2 ciudades activadas.').waitFor()
  t.equal(await publicFlag(app, 'Masaya'), true)
  await page.fill('#filter', '')
  await page.click('#bulk-off')
  t.equal(await page.locator('#confirm-text').innerText(), '¿Desactivar las ventas en todo Nicaragua (NI)? Cambiarán 3 ciudades.', 'Managua, Masaya and Rivas are on')
  await page.click('#confirm-yes')
  await page.getByText('Cambio masivo hecho: 3 ciudades desactivadas.').waitFor()
  t.same(await page.locator('#cities button[role="switch"]').evaluateAll(switches => switches.map(s => s.getAttribute('aria-checked'))), ['false', 'false', 'false', 'false', 'false'])
  await watcher.locator('#cities li[data-city="Masaya"] button[role="switch"][aria-checked="false"]').waitFor({ timeout: LIVE_MS })

  // 7. Managua's history: who, when, from what to what.
  await page.click('#cities li[data-city="Managua"] button:has-text("Historial")')
  await page.locator('#history-rows tr').first().waitFor()
  const rows = await page.locator('#history-rows tr').allInnerTexts()
  t.match(rows[0], /admin\s+cambiada: activas → inactivas/, 'the newest change first, by admin')
  t.match(rows[1], /admin\s+cambiada: inactivas → activas/)

  // 8. Adding a city, then removing it after a confirmation.
  await page.fill('#new-city', 'Tipitapa')
  await page.check('#new-active')
  await page.click('#add-form button[type="submit"]')
  await page.getByText('Tipitapa añadida con ventas activas.').waitFor()
  t.equal(await publicFlag(app, 'Tipitapa'), true)
  await page.fill('#new-city', 'tipitapa')
  await page.click('#add-form button[type="submit"]')
  await t.resolves(page.getByText('esa ciudad ya existe en Nicaragua (NI)').waitFor(), 'a conflict is explained')
  await page.click('#cities li[data-city="Tipitapa"] button:has-text("Eliminar")')
  t.match(await page.locator('#confirm-text').innerText(), /^¿Eliminar Tipitapa de Nicaragua \(NI\)\?/)
  await page.click('#confirm-yes')
  await page.getByText('Tipitapa eliminada.').waitFor()
  t.equal((await app.inject({ url: '/active?country=NI&city=Tipitapa' })).statusCode, 404)

  // 9. Signing out forgets the token.
  await page.click('#sign-out')
  t.equal(await page.evaluate(() => sessionStorage.getItem('nicaventas.token')), null)
  t.ok(await page.locator('#sign-in').isVisible(), 'back to the sign-in form')
  t.same(session.problems, [], 'no script error, and the policy blocked nothing the page does')
  await mkdir(SCREENSHOTS, { recursive: true })
  await watcher.screenshot({ path: join(SCREENSHOTS, 'console-1280.png'), fullPage: true })
})

t.test('a token scoped to Nicaragua sees what it may change, and cannot switch Honduras', async t => {
  const session = await start(t)
  const page = await openConsole(session)
  await signIn(page, NI_TOKEN)
  await page.getByText('Conectado como ni-team').waitFor()
  t.equal(await page.locator('#who-scope').innerText(), 'Puede cambiar ciudades de: Nicaragua (NI).')
  await page.locator('#cities li').first().waitFor()
  t.equal(await page.locator('#cities-title').innerText(), 'Ciudades de Nicaragua (NI)', 'its one country is shown at once')
  t.ok(await switchOf(page, 'Managua').isEnabled())

  await chooseCountry(page, 'Honduras', 'HN')
  t.equal(await page.locator('#scope-note').innerText(), 'Tu token no puede cambiar ciudades de Honduras (HN): solo puedes consultarlas.')
  t.ok(await switchOf(page, 'Tegucigalpa').isDisabled(), 'its switches are off limits')
  t.ok(await page.locator('#bulk-off').isDisabled(), 'and so is the bulk change')
  const status = await page.evaluate(async () => (await fetch('/active', {
    method: 'PUT',
    headers: { authorization: `Bearer ${sessionStorage.getItem('nicaventas.token')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ country: 'HN', city: 'Tegucigalpa', active: true })
  })).status)
  t.equal(status, 403, 'and the service refuses it even from outside the page\'s controls')
  t.equal(await publicFlag(session.app, 'Managua'), true)
  t.equal((await session.app.inject({ url: '/active?country=HN&city=Tegucigalpa' })).json().active, false, 'Honduras unchanged')

  await page.click('#sign-out')
  await signIn(page, READ_TOKEN)
  await page.getByText('Conectado como audit').waitFor()
  t.equal(await page.locator('#who-scope').innerText(), 'Solo lectura: puede ver el historial, no cambiar ciudades.')
  await chooseCountry(page, 'NI', 'NI')
  t.equal(await page.locator('#scope-note').innerText(), 'Tu token es de solo lectura: puedes consultar ciudades e historial, no cambiarlos.')
  t.ok(await switchOf(page, 'Managua').isDisabled(), 'a read-only token switches nothing')
  t.ok(await page.locator('#add-form button[type="submit"]').isDisabled(), 'nor adds a city')
  await page.click('#cities li[data-city="Managua"] button:has-text("Historial")')
  await t.resolves(page.locator('#history-rows tr').first().waitFor(), 'but reads the history')
  t.same(session.problems, [])
})

t.test('with the keyboard alone: sign in, choose a country, switch a city, open and cancel a confirmation', async t => {
  const session = await start(t)
  const page = await openConsole(session)
  // A string, evaluated in the page: the tests are compiled without the DOM's types.
  const focused = () => page.evaluate<string>("document.activeElement.id || document.activeElement.getAttribute('aria-label') || document.activeElement.textContent")
  await page.locator('#token:focus').waitFor()
  await page.keyboard.type(TOKEN)
  await page.keyboard.press('Enter')
  await page.getByText('Conectado como admin').waitFor()
  t.equal(await focused(), 'country', 'the country field takes the focus')
  await page.keyboard.type('ni')
  await page.keyboard.press('Enter')
  await page.locator('#cities li').first().waitFor()

  const reached: string[] = []
  for (let presses = 0; presses < 40 && await focused() !== 'Ventas en Managua'; presses++) {
    await page.keyboard.press('Tab')
    reached.push(String(await focused()))
  }
  t.equal(await focused(), 'Ventas en Managua', `Tab reaches Managua's switch (${reached.join(' → ')})`)
  const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')
  t.not(outline, 'none', 'and shows where the focus is')
  await page.keyboard.press('Space')
  await page.locator('#cities li[data-city="Managua"] button[role="switch"][aria-checked="false"]').waitFor()
  t.equal(await focused(), 'Ventas en Managua', 'the focus stays on the switch once it is confirmed')
  t.equal(await publicFlag(session.app, 'Managua'), false)

  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  t.equal(await focused(), 'Eliminar Managua')
  await page.keyboard.press('Enter')
  t.ok(await page.locator('#confirm').isVisible(), 'the confirmation opens')
  t.equal(await focused(), 'confirm-yes', 'with the focus on its button')
  await page.keyboard.press('Escape')
  t.notOk(await page.locator('#confirm').isVisible(), 'Escape cancels it')
  t.equal((await session.app.inject({ url: '/active?country=NI&city=Managua' })).statusCode, 200, 'Managua is still there')
  t.same(session.problems, [])
})

t.test('at 360 px wide, everything fits without scrolling sideways', async t => {
  const session = await start(t)
  const page = await openConsole(session, 360)
  await signIn(page, TOKEN)
  await chooseCountry(page, 'Nicaragua', 'NI')
  t.ok(await page.evaluate<boolean>('document.documentElement.scrollWidth <= 360'), 'no horizontal scroll')
  for (const selector of ['#sign-out', '#filter', '#bulk-on', '#bulk-off', '#cities li[data-city="Managua"] button[role="switch"]', '#cities li[data-city="Managua"] button:has-text("Eliminar")']) {
    const box = await page.locator(selector).boundingBox()
    t.ok(box !== null && box.x >= 0 && box.x + box.width <= 360, `${selector} is within the screen`)
    t.ok(box !== null && box.height >= 24, `${selector} is big enough to tap`)
  }
  await switchOf(page, 'Granada').tap().catch(() => switchOf(page, 'Granada').click())
  await page.locator('#cities li[data-city="Granada"] button[role="switch"][aria-checked="true"]').waitFor()
  await mkdir(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, 'console-360.png'), fullPage: true })
  t.same(session.problems, [])
})

t.test('the console subscribes first, reads the list at each hello and reset, applies each kind of change event to the country on screen, and ignores other countries\' events', async t => {
  const session = await start(t)
  const { app } = session
  // The hello comes late, and the list's answer waits: what the page does in between is in the front's log.
  const front = await eventStreamFront(t, session.address, { helloDelayMs: 500 })
  const page = await openConsole({ ...session, address: front.address })
  await signIn(page, TOKEN)
  await page.getByText('Conectado como admin').waitFor()
  front.holdLists()
  await page.fill('#country', 'NI')
  await page.click('#country-form button[type="submit"]')
  t.equal(await front.opened, 'NI', 'the page opened the stream of its country')
  await front.waitFor(/^list NI$/)
  t.same(front.log, ['stream NI', 'hello', 'list NI'], 'the stream first, the list only once the stream said hello')
  t.equal(await page.locator('#live').textContent(), 'En vivo: los cambios llegan por el flujo de cambios del servicio.', 'the page says it is live (shown with the list)')
  // A change while the list is being read: the list (from MySQL, untouched) cannot have it; the page must.
  const changedAt = new Date().toISOString()
  front.send({ country: 'NI', city: 'Managua', active: false, action: 'update', version: 7, changed_at: changedAt })
  await new Promise(resolve => setTimeout(resolve, 200))
  front.releaseLists()
  await page.locator('#cities-title', { hasText: '(NI)' }).waitFor()
  await page.locator('#cities li[data-city="Managua"] button[role="switch"][aria-checked="false"]').waitFor({ timeout: 1000 })
  t.same(await page.locator('#cities li .city-name').allInnerTexts(), ['Granada', 'León', 'Managua', 'Masaya', 'Rivas'], 'the list as read')

  // Events only, MySQL untouched: what the page shows next came from the stream, not from a poll.
  front.send({ country: 'NI', city: 'Tipitapa', active: true, action: 'create', version: 1, changed_at: changedAt })
  await page.locator('#cities li[data-city="Tipitapa"] button[role="switch"][aria-checked="true"]').waitFor({ timeout: 1000 })
  front.send({ country: 'NI', city: 'Rivas', active: null, action: 'delete', version: 2, changed_at: changedAt })
  await page.locator('#cities li[data-city="Rivas"]').waitFor({ state: 'detached', timeout: 1000 })
  front.send({ country: 'HN', city: 'Granada', active: true, action: 'update', version: 9, changed_at: changedAt })
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(await switchOf(page, 'Granada').getAttribute('aria-checked'), 'false', 'another country\'s event changes nothing here')
  t.equal(await publicFlag(app, 'Managua'), true, 'the service itself was not changed')
  t.equal(front.log.filter(entry => entry.startsWith('list')).length, 1, 'and the page did not read the list again meanwhile')

  // A reset: the service could not replay what the page missed. The page reads the list again: MySQL's truth,
  // a change that came on no event (Granada), and none of the stand-in's events (Managua is on, Rivas is back).
  t.equal((await app.inject({ method: 'PUT', url: '/active', headers: { authorization: `Bearer ${TOKEN}` }, payload: { country: 'NI', city: 'Granada', active: true } })).statusCode, 200)
  front.reset()
  await front.waitFor(/^list NI$/, 2)
  await page.locator('#cities li[data-city="Granada"] button[role="switch"][aria-checked="true"]').waitFor({ timeout: LIVE_MS })
  t.same(await page.locator('#cities li .city-name').allInnerTexts(), ['Granada', 'León', 'Managua', 'Masaya', 'Rivas'], 'the list as read again')
  t.equal(await switchOf(page, 'Managua').getAttribute('aria-checked'), 'true')

  // A dropped stream: the browser reconnects from the last id it saw, and the page reads the list at the new hello.
  t.equal((await app.inject({ method: 'PUT', url: '/active', headers: { authorization: `Bearer ${TOKEN}` }, payload: { country: 'NI', city: 'Masaya', active: true } })).statusCode, 200)
  front.drop()
  await front.waitFor(/^hello$/, 2)
  t.match(front.log.at(-2), /^stream NI after \d+$/, 'resumed with Last-Event-ID')
  await front.waitFor(/^list NI$/, 3)
  await page.locator('#cities li[data-city="Masaya"] button[role="switch"][aria-checked="true"]').waitFor({ timeout: LIVE_MS })
  await page.getByText('En vivo: los cambios llegan por el flujo de cambios del servicio.').waitFor()
  t.same(front.log, ['stream NI', 'hello', 'list NI', 'reset', 'list NI', front.log[5], 'hello', 'list NI'], 'subscribed, read; reset, read; resumed, read')
  t.same(session.problems, [])
})

t.test('where the change stream is unavailable, the console says so and polls: a direct SQL edit still shows within a second or so', async t => {
  const session = await start(t)
  const front = await eventStreamFront(t, session.address, { withoutStream: true })
  const page = await openConsole({ ...session, address: front.address })
  await signIn(page, TOKEN)
  await chooseCountry(page, 'NI', 'NI')
  await page.getByText('En vivo: el flujo de cambios no está disponible; la lista se consulta cada segundo.').waitFor()
  const sql = await directSql(t, session.app)
  const before = await switchOf(page, 'Rivas').getAttribute('aria-checked')
  await sql.query("UPDATE locations SET active = NOT active WHERE country = 'NI' AND city_key = 'rivas'")
  await t.resolves(page.locator(`#cities li[data-city="Rivas"] button[role="switch"][aria-checked="${before === 'true' ? 'false' : 'true'}"]`).waitFor({ timeout: LIVE_MS }),
    'the edit shows by the poll')
  // A 404 from the stream is expected here; any other problem is not.
  t.same(session.problems.filter(problem => !/404/.test(problem)), [])
})

t.test('a list the service cannot be reached for says so, as any other request does', async t => {
  const session = await start(t)
  const page = await openConsole(session)
  await signIn(page, TOKEN)
  await page.getByText('Conectado como admin').waitFor()
  // The connection fails for the list's pages only: the page and the sign-in were served.
  await page.route('**/active/cities?**', route => route.abort('connectionrefused'))
  await page.fill('#country', 'NI')
  await page.click('#country-form button[type="submit"]')
  await t.resolves(page.getByText(/No se pudieron leer las ciudades de .*: no se pudo contactar con el servicio/).waitFor(), 'the operator is told the service could not be reached')
})
