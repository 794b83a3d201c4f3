import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../app.ts'
import { readConfig } from '../config/read-config.ts'
import { openApiJson } from '../scripts/openapi-json.ts'
import { build, cleanUp, isolatedEnv } from './helper.ts'
import { assertResponsesMatchOpenApi } from './support/openapi-contract.ts'

interface Operation {
  operationId?: string
  security?: unknown[]
  responses: Record<string, unknown>
}

t.test('the committed openapi.json is what the code generates (run `npm run openapi` after changing a route)', async t => {
  const app = await build(t)
  const committed = await readFile(join(import.meta.dirname, '..', 'openapi.json'), 'utf8')
  t.equal(committed, openApiJson(app))
})

t.test('every route is documented, with its errors, and the write routes with the bearer scheme', async t => {
  const app = await build(t)
  const paths = (app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> }).paths
  t.same(Object.keys(paths).sort(), ['/', '/active', '/active/cities', '/active/events', '/active/history', '/auth/whoami', '/console/countries', '/health', '/metrics',
    '/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/{key}', '/ofrep/v1/events', '/ready'])
  for (const path of ['/active/events', '/ofrep/v1/events']) {
    t.same(Object.keys(paths[path]?.get?.responses ?? {}).sort(), ['200', '400', '500', '503'], `${path} documents its refusals`)
    t.same(paths[path]?.get?.security, [], `${path} is public`)
  }
  for (const path of ['/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/{key}']) t.same(paths[path]?.post?.security, [], `${path} is public`)
  t.same(Object.keys(paths['/active'] ?? {}).sort(), ['delete', 'get', 'post', 'put'])

  const active = paths['/active'] as Record<string, Operation>
  t.same(Object.keys(active.get?.responses ?? {}).sort(), ['200', '304', '400', '404', '500', '503'])
  t.same(active.get?.security, [], 'reads are public')
  const cities = paths['/active/cities']?.get
  t.same(Object.keys(cities?.responses ?? {}).sort(), ['200', '304', '400', '500', '503'], 'a country\'s list: no 404, an empty list instead')
  t.same(cities?.security, [], 'public too')
  for (const operation of [active.get, cities]) {
    const headers = (operation?.responses['200'] as { headers?: Record<string, unknown> }).headers ?? {}
    t.same(Object.keys(headers).sort(), ['cache-control', 'etag'], `${operation?.operationId} documents its conditional headers`)
  }
  const history = paths['/active/history']?.get
  t.same(history?.security, [{ bearerAuth: [] }], 'the history needs the token')
  t.same(Object.keys(history?.responses ?? {}).sort(), ['200', '400', '401', '404', '429', '500', '503'])
  const writes: Record<string, Operation | undefined> = { ...active, 'put /active/cities': paths['/active/cities']?.put }
  for (const method of ['put', 'post', 'delete', 'put /active/cities']) {
    t.same(writes[method]?.security, [{ bearerAuth: [] }], `${method} needs the token`)
    for (const status of ['400', '401', '403', '404', '413', '415', '429', '500', '503']) {
      t.ok(writes[method]?.responses[status], `${method} documents ${status}`)
    }
  }
  t.same(paths['/auth/whoami']?.get?.security, [{ bearerAuth: [] }], 'whoami needs the token')
  t.ok(active.post?.responses['409'], 'POST documents its conflict')
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) t.ok(operation.operationId, `${method} ${path} has an operationId`)
  }
})

t.test('the docs are served as a page and as JSON', async t => {
  const app = await build(t)
  const page = await app.inject({ url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const json = await app.inject({ url: '/docs/json' })
  t.same(json.json(), app.swagger())
})

t.test('the contract check catches a response the document does not describe', async t => {
  const env = isolatedEnv()
  const app = await buildApp({ config: readConfig(env) })
  t.teardown(async () => {
    await app.close()
    await cleanUp(env)
  })
  const failures: string[] = []
  assertResponsesMatchOpenApi({ fail: (...args: unknown[]) => { failures.push(String(args[0])); return false } }, app)
  // An answer with a status the document does not list for that route.
  app.addHook('preSerialization', async (request, reply, payload) => {
    if (request.url === '/health?teapot') reply.code(418)
    return payload
  })
  await app.ready()
  await app.inject({ url: '/health?teapot' })
  await app.inject({ url: '/active?country=NI&city=Managua' })
  t.equal(failures.length, 1)
  t.match(failures[0], /GET \/health → 418: status not documented/)
})

t.test('the contract check catches a property the document does not name', async t => {
  const env = isolatedEnv()
  const app = await buildApp({ config: readConfig(env) })
  t.teardown(async () => {
    await app.close()
    await cleanUp(env)
  })
  // Added to the body before the check sees it (hooks run in the order they were added).
  app.addHook('onSend', async (request, _reply, payload) =>
    request.url === '/health?extra' ? JSON.stringify({ ...JSON.parse(String(payload)), extra: true }) : payload)
  const failures: string[] = []
  assertResponsesMatchOpenApi({ fail: (...args: unknown[]) => { failures.push(String(args[0])); return false } }, app)
  await app.ready()
  t.equal((await app.inject({ url: '/health?extra' })).json().extra, true)
  await app.inject({ url: '/health' })
  t.equal(failures.length, 1)
  t.match(failures[0], /GET \/health → 200: body does not match the documented schema: .*must NOT have additional properties/)
})
