import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OFREPProvider } from '@openfeature/ofrep-provider'
import { OpenFeature } from '@openfeature/server-sdk'
import { EventSource } from 'eventsource'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { AUTH, build } from './helper.ts'
import { launchChromium } from './support/chromium.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'
import { until } from './support/until.ts'

// Clients we did not write: the `eventsource` package (a browser's EventSource, in Node), OpenFeature's
// server SDK with its OFREP provider, and its web SDK with the OFREP web provider in headless Chromium.
// Each says how long it took to see a PUT (measured from the PUT's acknowledgement).

const MODULES = join(import.meta.dirname, '..', 'node_modules', '@openfeature')

async function listening (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

async function put (app: FastifyInstance, city: string, active: boolean): Promise<number> {
  const response = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city, active } })
  if (response.statusCode !== 200) throw new Error(`PUT answered ${response.statusCode}`)
  return performance.now()
}

t.test('eventsource: receives each change, and after its connection is cut, reconnects with Last-Event-ID and misses nothing', async t => {
  const app = await build(t, { CHANGE_STREAM_RETRY_MS: '200' })
  await listening(app)
  const proxy = await startTcpProxy((app.server.address() as { port: number }).port)
  t.teardown(() => proxy.close())
  const source = new EventSource(`http://127.0.0.1:${proxy.port}/active/events?country=NI`)
  t.teardown(() => source.close())
  const received: Array<{ id: string, city: string, active: boolean, at: number }> = []
  source.addEventListener('change', event => {
    const data = JSON.parse(event.data) as { city: string, active: boolean }
    received.push({ id: event.lastEventId, city: data.city, active: data.active, at: performance.now() })
  })
  let hello = ''
  source.addEventListener('hello', event => { hello = event.lastEventId })
  await until(async () => hello !== '', 'hello')

  const acknowledged = await put(app, 'Granada', true)
  await until(async () => received.length === 1, 'the change')
  const delay = received[0]!.at - acknowledged
  t.comment(`eventsource saw the PUT ${delay.toFixed(1)} ms after its acknowledgement`)
  t.ok(delay < 1000)

  await proxy.cut()
  await put(app, 'Granada', false)
  await put(app, 'Masaya', true)
  await proxy.restore()
  await until(async () => received.length === 3, 'the two changes made while cut off, after reconnecting', 10_000)
  await put(app, 'Masaya', false)
  await until(async () => received.length === 4, 'and the next live one')
  t.same(received.map(({ city, active }) => [city, active]), [['Granada', true], ['Granada', false], ['Masaya', true], ['Masaya', false]])
  const ids = received.map(change => Number(change.id))
  t.ok(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1), 'consecutive ids, none twice')
})

t.test('OpenFeature server SDK + OFREP provider: sales-active for a location before and after a PUT', async t => {
  const app = await build(t)
  const base = await listening(app)
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: base }))
  t.teardown(() => OpenFeature.close())
  const client = OpenFeature.getClient()
  const context = { targetingKey: 'NI/Granada' }
  const before = await client.getBooleanDetails('sales-active', true, context)
  t.match(before, { value: false, reason: 'TARGETING_MATCH', variant: 'inactive', flagMetadata: { registered: true } })
  t.notOk(before.errorCode, 'evaluated, not the default')
  const unregistered = await client.getBooleanDetails('sales-active', true, { country: 'NI', city: 'Ocotal', targetingKey: 'shop-7' })
  t.match(unregistered, { value: false, reason: 'STATIC', variant: 'unregistered' })

  const acknowledged = await put(app, 'Granada', true)
  let after = false
  while (!after) after = await client.getBooleanValue('sales-active', false, context)
  const delay = performance.now() - acknowledged
  t.comment(`the server SDK evaluated the new value ${delay.toFixed(1)} ms after the PUT's acknowledgement (it evaluates remotely on each call)`)
  t.ok(delay < 1000)
  const unknownFlag = await client.getBooleanDetails('dark-mode', true, context)
  t.match(unknownFlag, { value: true, errorCode: 'FLAG_NOT_FOUND' }, 'an unknown flag: the code default')
})

/** The test page: OpenFeature's web SDK and the OFREP web provider, as ES modules served from node_modules. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>sales-active</title>
<script type="importmap">{"imports": {
  "@openfeature/core": "/__test/core/dist/esm/index.js",
  "@openfeature/web-sdk": "/__test/web-sdk/dist/esm/index.js",
  "@openfeature/ofrep-core": "/__test/ofrep-web-provider/node_modules/@openfeature/ofrep-core/index.esm.js",
  "@openfeature/ofrep-web-provider": "/__test/ofrep-web-provider/index.esm.js"
}}</script>
<p>Sales in Granada: <output id="value">loading</output></p>
<script type="module">
  import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk'
  import { OFREPWebProvider } from '@openfeature/ofrep-web-provider'
  const output = document.getElementById('value')
  const show = () => { output.textContent = String(OpenFeature.getClient().getBooleanValue('sales-active', false)) }
  // A poll every 30 s: a change seen sooner came on the event stream.
  await OpenFeature.setContext({ targetingKey: 'NI/Granada' })
  await OpenFeature.setProviderAndWait(new OFREPWebProvider({ baseUrl: location.origin, pollInterval: 30000 }))
  OpenFeature.getClient().addHandler(ProviderEvents.ConfigurationChanged, show)
  show()
</script>`

t.test('OpenFeature web SDK + OFREP web provider in Chromium: the shown value changes after a PUT, on the event stream', async t => {
  const app = await build(t)
  const base = await listening(app)
  const browser = await launchChromium(t)
  const page = await browser.newPage()
  // The page and the SDKs' files are the test's, on the service's origin: the provider's requests are same-origin.
  await page.route(`${base}/__test/**`, async route => {
    const path = new URL(route.request().url()).pathname.slice('/__test/'.length)
    if (path === 'page.html') return route.fulfill({ contentType: 'text/html', body: PAGE })
    return route.fulfill({ contentType: 'text/javascript', body: await readFile(join(MODULES, path)) })
  })
  const requests: string[] = []
  page.on('request', request => { if (request.url().includes('/ofrep/')) requests.push(`${request.method()} ${request.url().slice(base.length)}`) })
  const errors: string[] = []
  page.on('pageerror', error => errors.push(error.message))
  await page.goto(`${base}/__test/page.html`)
  const output = page.locator('#value')
  await until(async () => await output.textContent() === 'false', 'the page shows Granada\'s flag', 15_000)
  await until(async () => requests.some(request => request.startsWith('GET /ofrep/v1/events?country=NI&city=Granada')), 'the provider opened the event stream')
  await until(async () => app.changeStream.size === 1, 'the stream is open on the service')

  const acknowledged = await put(app, 'Granada', true)
  await until(async () => await output.textContent() === 'true', 'the page shows the new value', 10_000)
  const delay = performance.now() - acknowledged
  const refetches = requests.filter(request => request.startsWith('POST /ofrep/v1/evaluate/flags'))
  t.comment(`the web provider showed the new value ${delay.toFixed(0)} ms after the PUT's acknowledgement; its requests: ${requests.join(' | ')}`)
  t.ok(delay < 5000, 'well before the 30 s poll')
  t.ok(refetches.some(request => /flagConfigLastModified=\d+/.test(request)), 'it re-fetched because of the stream\'s refetchEvaluation message')
  t.same(errors, [], 'no error on the page')
})
