import { Type, type Static } from '@sinclair/typebox'

const Port = (defaultPort: number) => Type.Integer({ minimum: 1, maximum: 65535, default: defaultPort })
const Seconds = (defaultSeconds: number) => Type.Integer({ minimum: 1, default: defaultSeconds })
const Milliseconds = (defaultMs: number) => Type.Integer({ minimum: 1, default: defaultMs })

/**
 * Every environment variable the service reads. The names DATABASE_* and
 * REDIS_* are the Flask service's, so its deployment files keep working.
 */
export const EnvironmentSchema = Type.Object({
  NODE_ENV: Type.Union(['development', 'test', 'production'].map(env => Type.Literal(env)), { default: 'development' }),
  HOST: Type.String({ default: 'localhost', minLength: 1 }),
  PORT: Port(8000),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(level => Type.Literal(level)),
    { default: 'info' }
  ),
  API_TOKENS: Type.Optional(Type.String({
    description: 'The write routes\' bearer tokens, comma-separated: `name:token`, or a bare `token` for the operator named "operator"; ' +
      'several tokens may share a name while one is rotated. A scope after the name limits a token: `name[NI+CR]:token` changes only ' +
      'those countries, `name[read]:token` only reads the history'
  })),
  // Guessing tokens (plugins/operator-auth.ts): a client that fails this many times within the window is answered 429 until it waits.
  AUTH_FAILURE_LIMIT: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  AUTH_FAILURE_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  // Proxies in front of the service that append the client's address to X-Forwarded-For (compose's nginx: 1); 0 trusts no such header.
  TRUST_PROXY_HOPS: Type.Integer({ minimum: 0, maximum: 10, default: 0 }),

  DATABASE_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  DATABASE_PORT: Port(3306),
  DATABASE_USER: Type.String({ default: 'root', minLength: 1 }),
  DATABASE_PASSWORD: Type.String({ default: '' }),
  DATABASE_NAME: Type.String({ default: 'nicaventas', pattern: '^[A-Za-z0-9_]{1,64}$' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  DATABASE_TIMEOUT_MS: Milliseconds(2000),
  DATABASE_WRITE_TIMEOUT_MS: Milliseconds(8000),
  DEMO_DATA: Type.Optional(Type.Boolean()),

  REDIS_LOCATION: Type.String({ default: '127.0.0.1', minLength: 1 }),
  REDIS_PORT: Port(6379),
  REDIS_PASSWORD: Type.Optional(Type.String()),
  REDIS_DB: Type.Integer({ minimum: 0, default: 0 }),
  REDIS_TIMEOUT_MS: Milliseconds(250),
  // Another topology instead of the single REDIS_LOCATION:REDIS_PORT (config/redis-topology.ts reads them).
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ description: 'Redis Cluster seed nodes, `host:port` comma-separated' })),
  REDIS_SENTINELS: Type.Optional(Type.String({ description: 'Sentinels watching the Redis primary, `host:port` comma-separated' })),
  REDIS_SENTINEL_NAME: Type.Optional(Type.String({ minLength: 1, description: 'The primary\'s name in the Sentinels\' configuration' })),
  // How many replicas must hold a write's invalidation before it is acknowledged (services/cache/invalidations.ts).
  REDIS_WAIT_REPLICAS: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),

  CACHE_NAMESPACE: Type.String({ default: 'nicaventas', pattern: '^[A-Za-z0-9_.:-]{1,64}$' }),
  CACHE_TTL_SECONDS: Seconds(300),
  CACHE_NEGATIVE_TTL_SECONDS: Seconds(30),
  CACHE_GRACE_SECONDS: Type.Integer({ minimum: 0, default: 3600 }),
  // The in-process tier (services/cache/local-tier.ts): 0 keeps it off.
  CACHE_LOCAL_TTL_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 0 }),
  CACHE_LOCAL_MAX_ENTRIES: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  // How often every instance applies the invalidation records the triggers write (services/cache/record-sync.ts).
  CACHE_SYNC_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),

  // The change stream, GET /active/events (services/availability/change-feed.ts, change-fan-out.ts).
  CHANGE_STREAM_MAX_SUBSCRIBERS: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 5000, description: 'Streams one instance keeps open at most; beyond it 503 with Retry-After' }),
  CHANGE_STREAM_MAX_PER_CLIENT: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 32, description: 'Streams one client (an IPv4 address, an IPv6 /64) keeps open on one instance at most; beyond it 503 with Retry-After' }),
  CHANGE_STREAM_REPLAY_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000, description: 'How many changes back a Last-Event-ID may resume from; older ones get `event: reset`' }),
  CHANGE_STREAM_MAX_UNSENT_BYTES: Type.Integer({ minimum: 1024, default: 262_144, description: 'A subscriber whose unsent output passes this is disconnected (it resumes with Last-Event-ID)' }),
  // Without it, twice DATABASE_WRITE_TIMEOUT_MS (plugins/change-stream.ts): a write that takes its whole budget is still streamed.
  CHANGE_STREAM_GAP_WAIT_MS: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, description: 'How long a change id skipped by a later one is waited for before the later ones are streamed; twice DATABASE_WRITE_TIMEOUT_MS by default' })),
  CHANGE_STREAM_KEEPALIVE_MS: Type.Integer({ minimum: 100, maximum: 15_000, default: 15_000, description: 'The longest an idle stream goes without a byte (a comment line)' }),
  CHANGE_STREAM_WRITE_SLICE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 250, description: 'Subscribers written to per turn of the event loop: requests are served between slices' }),
  CHANGE_STREAM_RETRY_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 2000, description: 'The `retry:` hint: how long a client waits before reconnecting' }),

  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 })
})

export type Environment = Static<typeof EnvironmentSchema>

/** Who made a write, as the logs and the change history name them; never the token itself. */
export const OperatorName = Type.String({
  pattern: '^[A-Za-z0-9_.-]{1,32}$',
  description: '1–32 characters of A-Z a-z 0-9 _ . -'
})

/** One entry of API_TOKENS, once read; without `countries` and `readOnly`, the token may change every country. */
export const OperatorTokenSchema = Type.Object({
  name: OperatorName,
  token: Type.String({ minLength: 1 }),
  /** The only countries this token may change (upper case), from `name[NI+CR]:token`. */
  countries: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }))),
  /** From `name[read]:token`: the history only, no writes. */
  readOnly: Type.Optional(Type.Literal(true))
})

export type OperatorToken = Static<typeof OperatorTokenSchema>

export const RedisNodeSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 })
})

export type RedisNode = Static<typeof RedisNodeSchema>

/** Where the cache lives: one server, a Redis Cluster, or a primary that Sentinels fail over. */
export const RedisTopologySchema = Type.Union([
  Type.Object({ kind: Type.Literal('single'), node: RedisNodeSchema }),
  Type.Object({ kind: Type.Literal('cluster'), seeds: Type.Array(RedisNodeSchema, { minItems: 1 }) }),
  Type.Object({ kind: Type.Literal('sentinel'), sentinels: Type.Array(RedisNodeSchema, { minItems: 1 }), name: Type.String({ minLength: 1 }) })
])

export type RedisTopology = Static<typeof RedisTopologySchema>
