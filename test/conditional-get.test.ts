import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { FastifyInstance, InjectOptions } from 'fastify'
import t, { type Test } from 'tap'
import { AUTH, build } from './helper.ts'

const WEAK_TAG = /^W\/"[^"]+"$/

const put = (country: string, city: string, active: boolean) => ({ method: 'PUT' as const, url: '/active', headers: AUTH, payload: { country, city, active } })

/** One GET as a client sees it: status, the headers that matter here, and the body as text. */
async function get (app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  const response = await app.inject({ method: 'GET', url, headers })
  return {
    status: response.statusCode,
    etag: response.headers.etag,
    cacheControl: response.headers['cache-control'],
    contentType: response.headers['content-type'],
    contentLength: response.headers['content-length'],
    body: response.body,
    json: () => response.json()
  }
}

const location = (city: string, country = 'NI') => `/active?country=${country}&city=${encodeURIComponent(city)}`
const cities = (query = 'country=NI') => `/active/cities?${query}`

/** The tag of a 200, checked to be weak. */
async function tagOf (t: Test, app: FastifyInstance, url: string): Promise<string> {
  const response = await get(app, url)
  t.equal(response.status, 200, `${url} is 200`)
  t.match(response.etag, WEAK_TAG, `${url} has a weak tag`)
  return response.etag as string
}

/** Asserts a 304 with the tag and nothing of a body. */
function notModified (t: Test, response: Awaited<ReturnType<typeof get>>, etag: string, what: string): void {
  t.equal(response.status, 304, `${what}: 304`)
  t.equal(response.etag, etag, `${what}: with the tag`)
  t.equal(response.body, '', `${what}: no body`)
  t.equal(response.contentType, undefined, `${what}: no content type`)
  t.equal(response.contentLength, undefined, `${what}: no content length`)
}

for (const [route, url] of [['GET /active', location('Managua')], ['GET /active/cities', cities()]] as const) {
  t.test(`${route}: a weak tag from the data, the same on a miss and a hit, with Cache-Control: no-cache`, async t => {
    const app = await build(t)
    const miss = await get(app, url)
    const hit = await get(app, url)
    t.same([miss.json().redis_cache, hit.json().redis_cache], ['miss', 'hit'])
    t.match(miss.etag, WEAK_TAG)
    t.equal(hit.etag, miss.etag, 'a hit carries the tag of the miss')
    t.equal(miss.cacheControl, 'no-cache')
    t.equal(hit.cacheControl, 'no-cache')
  })

  t.test(`${route}: If-None-Match with the tag, a list holding it, or * is 304 with the tag and no body`, async t => {
    const app = await build(t)
    const etag = await tagOf(t, app, url)
    const matching = [etag, `W/"other", ${etag}`, `${etag},W/"other"`, '*', etag.slice(2)]
    for (const ifNoneMatch of matching) {
      notModified(t, await get(app, url, { 'if-none-match': ifNoneMatch }), etag, ifNoneMatch)
    }
    for (const ifNoneMatch of ['W/"other"', `W/"other", "${etag}"`, 'W/""']) {
      const response = await get(app, url, { 'if-none-match': ifNoneMatch })
      t.equal(response.status, 200, `${ifNoneMatch}: 200`)
      t.equal(response.etag, etag, `${ifNoneMatch}: with the current tag`)
      t.equal(response.json().country, 'NI', `${ifNoneMatch}: and the body`)
    }
  })

  t.test(`${route}: If-None-Match is honoured whatever Cache-Control the request sends, as fetch() does`, async t => {
    const app = await build(t)
    const etag = await tagOf(t, app, url)
    for (const ifNoneMatch of [etag, '*']) {
      for (const cacheControl of ['no-cache', 'max-age=0, no-cache', 'max-age=0']) {
        notModified(t, await get(app, url, { 'if-none-match': ifNoneMatch, 'cache-control': cacheControl }), etag, `${ifNoneMatch} with ${cacheControl}`)
      }
    }
    // fetch() adds Cache-Control: no-cache to a request that sets If-None-Match itself.
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    const viaFetch = await fetch(`${base}${url}`, { headers: { 'if-none-match': etag } })
    t.equal(viaFetch.status, 304, 'a fetch() client gets its 304')
    t.equal(viaFetch.headers.get('etag'), etag)
    t.equal(await viaFetch.text(), '')
  })
}

t.test('GET /active: the tag follows the data: country, city spelling and flag', async t => {
  const app = await build(t)
  const leon = await tagOf(t, app, location('León'))
  t.equal(await tagOf(t, app, location(' LEON ', 'ni')), leon, 'another spelling of the same location has the same tag')
  const granada = await tagOf(t, app, location('Granada'))
  const masaya = await tagOf(t, app, location('Masaya'))
  const managua = await tagOf(t, app, location('Managua'))
  t.equal(new Set([leon, granada, masaya, managua]).size, 4, 'other locations, with the same flag or not, have other tags')
  const created = await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: { country: 'CR', city: 'Managua', active: true } })
  t.equal(created.statusCode, 201)
  t.not(await tagOf(t, app, location('Managua', 'CR')), managua, 'the same city and flag in another country has another tag')
})

t.test('GET /active: a write that changes the answer changes the tag; one that does not, does not', async t => {
  const app = await build(t)
  const before = await tagOf(t, app, location('Managua'))

  // Invalidates the entry (the next read is a miss) without changing the data.
  t.equal((await app.inject(put('NI', 'Managua', true))).statusCode, 200)
  const unchanged = await get(app, location('Managua'), { 'if-none-match': before })
  notModified(t, unchanged, before, 'after a write of the same value')

  t.equal((await app.inject(put('NI', 'Managua', false))).statusCode, 200)
  const changed = await get(app, location('Managua'), { 'if-none-match': before })
  t.equal(changed.status, 200, 'the old tag no longer matches')
  t.same(changed.json(), { active: false, country: 'NI', city: 'Managua', redis_cache: 'miss' })
  t.match(changed.etag, WEAK_TAG)
  t.not(changed.etag, before, 'a new tag')
  notModified(t, await get(app, location('Managua'), { 'if-none-match': changed.etag as string }), changed.etag as string, 'the new tag matches')

  t.equal((await app.inject(put('NI', 'Managua', true))).statusCode, 200)
  notModified(t, await get(app, location('Managua'), { 'if-none-match': before }), before, 'written back: the first tag matches again')
})

t.test('GET /active/cities: every kind of write to the country changes the list\'s tag', async t => {
  const app = await build(t)
  const managua = await tagOf(t, app, location('Managua'))
  let current = await tagOf(t, app, cities())
  const writes: Array<[string, InjectOptions]> = [
    ['PUT of another city', put('NI', 'Granada', true)],
    ['POST', { method: 'POST', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Jinotega', active: false } }],
    ['DELETE', { method: 'DELETE', url: '/active?country=NI&city=Rivas', headers: AUTH }]
  ]
  for (const [name, request] of writes) {
    t.ok([200, 201, 204].includes((await app.inject(request)).statusCode), `${name} succeeds`)
    const response = await get(app, cities(), { 'if-none-match': current })
    t.equal(response.status, 200, `${name}: the old tag no longer matches`)
    t.equal(response.json().redis_cache, 'miss', `${name}: with the new data`)
    t.not(response.etag, current, `${name}: a new tag`)
    current = response.etag as string
    notModified(t, await get(app, cities(), { 'if-none-match': current }), current, `${name}: the new tag matches`)
  }
  t.same((await get(app, cities())).json().cities, [
    { city: 'Granada', active: true },
    { city: 'Jinotega', active: false },
    { city: 'León', active: false },
    { city: 'Managua', active: true },
    { city: 'Masaya', active: false }
  ])
  notModified(t, await get(app, location('Managua'), { 'if-none-match': managua }), managua, 'Managua\'s own tag is unchanged by writes to other cities')
})

t.test('GET /active/cities: a filtered list has its own tag, whatever the filter\'s case', async t => {
  const app = await build(t)
  const full = await tagOf(t, app, cities())
  const active = await tagOf(t, app, cities('country=NI&active=true'))
  const inactive = await tagOf(t, app, cities('country=NI&active=false'))
  t.equal(new Set([full, active, inactive]).size, 3, 'three lists, three tags')
  t.equal(await tagOf(t, app, cities('country=ni&active=TRUE')), active, 'the same filter in another case: the same tag')

  const fullTagOnFiltered = await get(app, cities('country=NI&active=true'), { 'if-none-match': full })
  t.equal(fullTagOnFiltered.status, 200, 'the full list\'s tag does not match the filtered list')
  t.same(fullTagOnFiltered.json().cities, [{ city: 'Managua', active: true }])
  notModified(t, await get(app, cities('country=NI&active=true'), { 'if-none-match': active }), active, 'the filtered list\'s own tag')
  t.equal((await get(app, cities(), { 'if-none-match': active })).status, 200, 'and it does not match the full list')

  // Deleting an inactive city changes the full and the inactive lists, not the active one.
  t.equal((await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Rivas', headers: AUTH })).statusCode, 204)
  t.equal((await get(app, cities(), { 'if-none-match': full })).status, 200, 'the full list changed')
  t.equal((await get(app, cities('country=NI&active=false'), { 'if-none-match': inactive })).status, 200, 'the inactive list changed')
  const unchanged = await get(app, cities('country=NI&active=true'), { 'if-none-match': active })
  notModified(t, unchanged, active, 'the active list, read again from MySQL, has the same data and tag')
  t.equal((await app.inject(put('NI', 'Masaya', true))).statusCode, 200)
  const joined = await get(app, cities('country=NI&active=true'), { 'if-none-match': active })
  t.equal(joined.status, 200, 'Masaya joined the active list: its tag changed')
  t.same(joined.json().cities, [{ city: 'Managua', active: true }, { city: 'Masaya', active: true }])
})

t.test('GET /active/cities: an empty list has a tag, and gains a new one with its first city', async t => {
  const app = await build(t, { DEMO_DATA: 'false' })
  const empty = await tagOf(t, app, cities())
  t.equal(await tagOf(t, app, cities()), empty, 'the hit has the miss\'s tag')
  t.not(await tagOf(t, app, cities('country=CR')), empty, 'another country\'s empty list has another tag')
  notModified(t, await get(app, cities(), { 'if-none-match': empty }), empty, 'empty, unchanged')
  const created = await app.inject({ method: 'POST', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active: true } })
  t.equal(created.statusCode, 201)
  const response = await get(app, cities(), { 'if-none-match': empty })
  t.equal(response.status, 200)
  t.same(response.json(), { country: 'NI', cities: [{ city: 'Managua', active: true }], next_cursor: null, redis_cache: 'miss' })
  t.not(response.etag, empty)
})

t.test('an unknown location is a 404 without a tag, whatever If-None-Match says; so are 400s', async t => {
  const app = await build(t)
  for (const ifNoneMatch of [undefined, '*', 'W/"anything"']) {
    for (let attempt = 0; attempt < 2; attempt++) {
      // The second time the "not found" comes from the cache.
      const response = await get(app, location('Chinandega'), ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch })
      t.equal(response.status, 404, `${ifNoneMatch ?? 'unconditional'}: 404`)
      t.equal(response.etag, undefined, `${ifNoneMatch ?? 'unconditional'}: no tag`)
      t.same(response.json(), { statusCode: 404, error: 'Not Found', message: 'No existen datos Asociados' })
    }
  }
  // A tag the location had before it was deleted does not turn its 404 into a 304.
  const rivas = await tagOf(t, app, location('Rivas'))
  t.equal((await app.inject({ method: 'DELETE', url: '/active?country=NI&city=Rivas', headers: AUTH })).statusCode, 204)
  const gone = await get(app, location('Rivas'), { 'if-none-match': rivas })
  t.same([gone.status, gone.etag], [404, undefined])

  for (const url of ['/active?country=XX&city=Managua', '/active/cities?country=XX']) {
    const invalid = await get(app, url, { 'if-none-match': '*' })
    t.same([invalid.status, invalid.etag], [400, undefined], url)
  }
})

/** A GET over a real socket with node:http, which sends only the headers it is given. */
async function overHttp (baseUrl: string, path: string, headers: Record<string, string>) {
  return await new Promise<{ status: number, headers: IncomingHttpHeaders, body: string }>((resolve, reject) => {
    httpRequest(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(10_000) }, response => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', chunk => { body += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
    }).on('error', reject).end()
  })
}

t.test('over a real connection, a 304 carries the tag and nothing of a body', async t => {
  const app = await build(t)
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  for (const path of [location('Managua'), cities()]) {
    const first = await overHttp(baseUrl, path, {})
    t.equal(first.status, 200)
    const etag = first.headers.etag as string
    t.match(etag, WEAK_TAG)
    const again = await overHttp(baseUrl, path, { 'if-none-match': etag })
    t.equal(again.status, 304, path)
    t.equal(again.headers.etag, etag, path)
    t.equal(again.body, '', path)
    t.equal(again.headers['content-type'], undefined, path)
    t.equal(again.headers['content-length'], undefined, path)
  }
})
