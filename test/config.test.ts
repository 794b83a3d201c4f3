import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { readConfig } from '../config/read-config.ts'
import { loggerOptions } from '../logging/logger-options.ts'
import { AUTH, build } from './helper.ts'

// Production's tokens must be at least 32 characters: `openssl rand -base64 32` makes 44.
const STRONG = 'ana-token-NEW-0123456789abcdefghij'
const FLASK_TOKEN = '2234hj234h2kkjjh42kjj2b20asd6918'

t.test('defaults suit a developer machine with local MariaDB/MySQL and Redis', async t => {
  const config = readConfig({})
  t.match(config, {
    NODE_ENV: 'development',
    HOST: 'localhost',
    PORT: 8000,
    LOG_LEVEL: 'info',
    DATABASE_HOST: '127.0.0.1',
    DATABASE_PORT: 3306,
    DATABASE_USER: 'root',
    DATABASE_PASSWORD: '',
    DATABASE_NAME: 'nicaventas',
    REDIS_LOCATION: '127.0.0.1',
    REDIS_PORT: 6379,
    CACHE_TTL_SECONDS: 300,
    DEMO_DATA: true
  })
})

t.test('numbers and booleans are read from their string form', async t => {
  const config = readConfig({ PORT: '9000', DATABASE_PORT: '3307', REDIS_PORT: '6380', CACHE_TTL_SECONDS: '60', DEMO_DATA: 'false' })
  t.match(config, { PORT: 9000, DATABASE_PORT: 3307, REDIS_PORT: 6380, CACHE_TTL_SECONDS: 60, DEMO_DATA: false })
})

t.test('a bad value is refused with a message naming the variable', async t => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_PORT: '0' }, /DATABASE_PORT/],
    [{ REDIS_PORT: '-1' }, /REDIS_PORT/],
    [{ CACHE_TTL_SECONDS: '0' }, /CACHE_TTL_SECONDS/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ DATABASE_NAME: 'drop table; --' }, /DATABASE_NAME/],
    [{ DATABASE_HOST: '' }, /DATABASE_HOST/],
    [{ DEMO_DATA: 'perhaps' }, /DEMO_DATA/],
    [{ NODE_ENV: 'prod' }, /NODE_ENV/]
  ]
  for (const [env, variable] of cases) {
    t.throws(() => readConfig(env), { name: 'ConfigurationError', message: variable }, JSON.stringify(env))
  }
})

t.test('REDIS_CLUSTER_NODES or REDIS_SENTINELS choose another Redis topology; without either, the single server', async t => {
  t.same(readConfig({}).REDIS_TOPOLOGY, { kind: 'single', node: { host: '127.0.0.1', port: 6379 } })
  t.equal(readConfig({}).REDIS_WAIT_REPLICAS, 0, 'a single server has no replica to wait for')

  const cluster = readConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001,,[::1]:7002' })
  t.same(cluster.REDIS_TOPOLOGY, { kind: 'cluster', seeds: [{ host: 'redis-1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }] })
  t.equal(cluster.REDIS_WAIT_REPLICAS, 1, 'with replicas, a write\'s invalidation waits for one by default')

  const sentinel = readConfig({ REDIS_SENTINELS: 'sentinel-1:26379,sentinel-2:26379', REDIS_SENTINEL_NAME: 'nicaventas', REDIS_DB: '2', REDIS_WAIT_REPLICAS: '0' })
  t.same(sentinel.REDIS_TOPOLOGY, { kind: 'sentinel', sentinels: [{ host: 'sentinel-1', port: 26379 }, { host: 'sentinel-2', port: 26379 }], name: 'nicaventas' })
  t.equal(sentinel.REDIS_DB, 2, 'a Sentinel-managed primary keeps its databases')
  t.equal(sentinel.REDIS_WAIT_REPLICAS, 0, 'REDIS_WAIT_REPLICAS overrides the default')
})

t.test('a Redis topology that cannot mean one thing stops the start, naming the variables', async t => {
  const sentinels = { REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'primary' }
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000', ...sentinels }, /REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set/],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1' }, /REDIS_CLUSTER_NODES entry 2 \("127\.0\.0\.1"\) is not host:port/],
    [{ REDIS_CLUSTER_NODES: 'redis:70000' }, /REDIS_CLUSTER_NODES entry 1 \("redis:70000"\)/],
    [{ REDIS_CLUSTER_NODES: 'redis 1:7000' }, /REDIS_CLUSTER_NODES entry 1/],
    [{ REDIS_CLUSTER_NODES: ' , ' }, /REDIS_CLUSTER_NODES is set but lists no host:port/],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_DB: '3' }, /REDIS_DB is 3, but a Redis Cluster has database 0 only/],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000', CACHE_LOCAL_TTL_MS: '500' }, /CACHE_LOCAL_TTL_MS must be 0 with REDIS_CLUSTER_NODES/],
    [{ REDIS_SENTINELS: '127.0.0.1:26379' }, /REDIS_SENTINELS is set without REDIS_SENTINEL_NAME/],
    [{ REDIS_SENTINEL_NAME: 'primary' }, /REDIS_SENTINEL_NAME is set without REDIS_SENTINELS/],
    [{ ...sentinels, REDIS_SENTINELS: 'sentinel:port' }, /REDIS_SENTINELS entry 1 \("sentinel:port"\)/],
    [{ REDIS_WAIT_REPLICAS: '-1' }, /REDIS_WAIT_REPLICAS/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => readConfig(env), { name: 'ConfigurationError', message }, JSON.stringify(env))
  }
  t.equal(readConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_DB: '0' }).REDIS_DB, 0, 'REDIS_DB=0 is what a Cluster has, so it is accepted')
})

t.test('API_TOKENS is a comma-separated list, so a token can be rotated', async t => {
  t.same(readConfig({ API_TOKENS: 'one, two ,,three' }).API_TOKENS, [
    { name: 'operator', token: 'one' },
    { name: 'operator', token: 'two' },
    { name: 'operator', token: 'three' }
  ], 'bare tokens, as in the Flask service, belong to "operator"; empty entries are skipped')
  t.equal(readConfig({ API_TOKENS: 'one' }).API_TOKEN_GENERATED, false)
})

t.test('an API_TOKENS entry may name its operator, and several tokens may share a name', async t => {
  const name32 = 'A-Za-z0-9_.'.padEnd(32, 'x')
  t.same(readConfig({ API_TOKENS: ` ana:9f2c-old , ops-bot:a71e,ana : 9f2c-new,2234hj234h2kkjjh42kjj2b20asd6918,${name32}:long-name` }).API_TOKENS, [
    { name: 'ana', token: '9f2c-old' },
    { name: 'ops-bot', token: 'a71e' },
    { name: 'ana', token: '9f2c-new' },
    { name: 'operator', token: '2234hj234h2kkjjh42kjj2b20asd6918' },
    { name: name32, token: 'long-name' }
  ])
  t.same(readConfig({ API_TOKENS: 'ana:part:with:colons' }).API_TOKENS, [{ name: 'ana', token: 'part:with:colons' }],
    'the name ends at the first ":"')
  t.same(readConfig({ NODE_ENV: 'production', API_TOKENS: `ana:${STRONG}` }).API_TOKENS, [{ name: 'ana', token: STRONG }])
})

t.test('a bad API_TOKENS entry stops the start, naming its position and never a token', async t => {
  // Long enough for production, so each case fails for its own reason there too.
  const [A, B, C] = ['A', 'B', 'C'].map(letter => `SECRET-${letter}-${'0123456789'.repeat(3)}`)
  const cases: Array<[string, number, RegExp]> = [
    [`ana:${A},bad name:${B}`, 2, /the name before ":" must be 1–32 characters of A-Z a-z 0-9 _ \. -/],
    [`ana:${A},ops/bot:${B}`, 2, /the name before ":" must be/],
    [`añá:${A}`, 1, /the name before ":" must be/],
    [`${'a'.repeat(33)}:SECRET-A`, 1, /the name before ":" must be/],
    [`${A},SECRET/B:${C}`, 2, /a token that contains ":" needs a name before it/],
    [`ana:${A},:${B}`, 2, /empty name/],
    [`ana:${A}, :${B}`, 2, /empty name/],
    [`ana:${A},,ops-bot:`, 3, /no token after its name/],
    [`ana:${A},ops-bot: `, 2, /no token after its name/],
    [`ana:${A},bob:${B},ana:${A}`, 3, /repeats the token of entry 1/],
    [`${A},ops-bot:${A}`, 2, /repeats the token of entry 1/],
    [`${A},,${A}`, 3, /repeats the token of entry 1/]
  ]
  for (const [API_TOKENS, position, reason] of cases) {
    for (const NODE_ENV of ['development', 'production']) {
      let error: Error | undefined
      try {
        readConfig({ NODE_ENV, API_TOKENS })
      } catch (thrown) {
        error = thrown as Error
      }
      const label = `${NODE_ENV}: ${JSON.stringify(API_TOKENS)}`
      t.match(error, { name: 'ConfigurationError', message: new RegExp(`^API_TOKENS entry ${position}\\b`) }, label)
      t.match(error?.message, reason, label)
      t.notMatch(error?.message, /SECRET/, `${label}: no token in the message`)
    }
  }
})

t.test('production refuses a token shorter than 32 characters or the Flask service\'s published one, naming the entry, never the token', async t => {
  const cases: Array<[string, number, RegExp]> = [
    ['SECRET-1', 1, /is shorter than 32 characters: with NODE_ENV=production each token needs at least 32 \(make one with `openssl rand -base64 32`\)/],
    [`ana:${STRONG},ops-bot:SECRET-${'x'.repeat(23)}`, 2, /is shorter than 32 characters/],
    [`${STRONG},,${FLASK_TOKEN}`, 3, /is the Flask service's published token, which anyone can send/],
    [`ops-bot:${FLASK_TOKEN}`, 1, /published token/]
  ]
  for (const [API_TOKENS, position, reason] of cases) {
    let error: Error | undefined
    try {
      readConfig({ NODE_ENV: 'production', API_TOKENS })
    } catch (thrown) {
      error = thrown as Error
    }
    t.match(error, { name: 'ConfigurationError', message: new RegExp(`^API_TOKENS entry ${position} `) }, API_TOKENS)
    t.match(error?.message, reason, API_TOKENS)
    t.notMatch(error?.message, /SECRET|2234hj|0123456789/, 'no token in the message')
  }
  t.equal(readConfig({ NODE_ENV: 'production', API_TOKENS: 'x'.repeat(32) }).API_TOKENS[0]?.token, 'x'.repeat(32), '32 characters are enough')
})

t.test('outside production the Flask service\'s token and short tokens still work, so its curl examples do on day one', async t => {
  for (const NODE_ENV of ['development', 'test']) {
    t.same(readConfig({ NODE_ENV, API_TOKENS: `${FLASK_TOKEN},x` }).API_TOKENS.map(({ token }) => token), [FLASK_TOKEN, 'x'], NODE_ENV)
  }
})

t.test('.env.example\'s token is a placeholder that production refuses until it is replaced', async t => {
  const example = readFileSync(join(import.meta.dirname, '..', '.env.example'), 'utf8')
  const placeholder = /^API_TOKENS=(.*)$/m.exec(example)?.[1]
  t.ok(placeholder, '.env.example sets API_TOKENS')
  t.throws(() => readConfig({ NODE_ENV: 'production', API_TOKENS: placeholder }), { name: 'ConfigurationError', message: /^API_TOKENS entry 1 is shorter than 32 characters/ })
  t.match(example, /openssl rand -base64 32/, 'and says how to make a token')
})

t.test('a token made by `openssl rand -base64 32` is read as it is and opens the write routes in production', async t => {
  // Base64's whole alphabet (letters, digits, + / =) across many tokens, bare and named.
  const tokens = Array.from({ length: 200 }, () => randomBytes(32).toString('base64'))
  t.ok(tokens.every(token => token.length === 44), '44 characters each')
  t.ok(['+', '/', '='].every(sign => tokens.some(token => token.includes(sign))), 'with + / and =')
  const read = readConfig({ NODE_ENV: 'production', API_TOKENS: tokens.map((token, i) => i % 2 === 0 ? token : `op-${i}:${token}`).join(',') }).API_TOKENS
  t.same(read.map(({ token }) => token), tokens)

  const generated = tokens[0] as string
  const app = await build(t, { NODE_ENV: 'production', API_TOKENS: generated })
  const put = (authorization: Record<string, string>) => app.inject({ method: 'PUT', url: '/active', headers: authorization, payload: { country: 'NI', city: 'Managua', active: false } })
  t.equal((await put({ authorization: `Bearer ${generated}` })).statusCode, 200)
  t.equal((await put(AUTH)).statusCode, 401, 'the test tokens are not configured here')
})

t.test('without API_TOKENS a development run generates a random token, named "operator"', async t => {
  const first = readConfig({})
  const second = readConfig({ API_TOKENS: ' , ' })
  t.equal(first.API_TOKEN_GENERATED, true)
  t.equal(first.API_TOKENS.length, 1)
  t.equal(first.API_TOKENS[0]?.name, 'operator')
  t.ok((first.API_TOKENS[0]?.token ?? '').length >= 32, 'long enough to guess at no better than chance')
  t.not(first.API_TOKENS[0]?.token, second.API_TOKENS[0]?.token, 'a new one each start')
})

t.test('production refuses to start without API_TOKENS and never loads demo data unless asked', async t => {
  t.throws(() => readConfig({ NODE_ENV: 'production' }), { message: /API_TOKENS is not set/ })
  t.equal(readConfig({ NODE_ENV: 'production', API_TOKENS: STRONG }).DEMO_DATA, false)
  t.equal(readConfig({ NODE_ENV: 'production', API_TOKENS: STRONG, DEMO_DATA: 'true' }).DEMO_DATA, true)
})

t.test('the generated token works on the write routes', async t => {
  const app = await build(t, { API_TOKENS: '' })
  t.equal(app.config.API_TOKEN_GENERATED, true)
  const response = await app.inject({
    method: 'PUT',
    url: '/active',
    headers: { authorization: `Bearer ${app.config.API_TOKENS[0]?.token}` },
    payload: { country: 'NI', city: 'Masaya', active: true }
  })
  t.equal(response.statusCode, 200)
})

t.test('logs are JSON, and pretty only for a developer at a terminal', async t => {
  const development = readConfig({})
  t.match(loggerOptions(development, true), { transport: { target: 'pino-pretty' } })
  t.notOk((loggerOptions(development, false) as { transport?: unknown }).transport)
  t.notOk((loggerOptions(readConfig({ NODE_ENV: 'production', API_TOKENS: STRONG }), true) as { transport?: unknown }).transport)
  t.match(loggerOptions(development, false), { redact: { paths: ['req.headers.authorization', 'headers.authorization'] } })
})
