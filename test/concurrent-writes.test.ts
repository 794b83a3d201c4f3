import type { FastifyInstance } from 'fastify'
import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { AUTH, build } from './helper.ts'
import { directSql } from './support/direct-sql.ts'
import { appMetricSample } from './support/metrics-sample.ts'

type Method = 'POST' | 'PUT' | 'DELETE'

interface Sent {
  method: Method
  requestId: string
  active: boolean
  status: number
  body: unknown
  sentAt: number
  answeredAt: number
}

const COUNTRY = 'NI'
// Rounds of 32 concurrent writes in the mixed test; raise it to measure (CONCURRENT_WRITE_ROUNDS=10).
const ROUNDS = Number(process.env.CONCURRENT_WRITE_ROUNDS ?? 3)
const AT_ONCE = 32
// The history's clock is MySQL's, the requests' is ours: the same machine, read at slightly different moments.
const CLOCK_SLACK_MS = 20

async function send (app: FastifyInstance, method: Method, city: string, active: boolean, requestId: string): Promise<Sent> {
  const headers = { ...AUTH, 'x-request-id': requestId }
  const sentAt = Date.now()
  const response = method === 'DELETE'
    ? await app.inject({ method, url: `/active?country=${COUNTRY}&city=${encodeURIComponent(city)}`, headers })
    : await app.inject({ method, url: '/active', headers, payload: { country: COUNTRY, city, active } })
  return { method, requestId, active, status: response.statusCode, body: response.body === '' ? null : response.json(), sentAt, answeredAt: Date.now() }
}

/** The deadlocks and lock waits MySQL still met, for the record: the retries hide them from clients. */
const rolledBack = (app: FastifyInstance) => `rolled back by MySQL: ${JSON.stringify(app.availabilityStore.rolledBackWrites)}`

const statusCounts = (answers: Sent[]) => answers.reduce<Record<string, number>>((counts, { method, status }) => {
  counts[`${method} ${status}`] = (counts[`${method} ${status}`] ?? 0) + 1
  return counts
}, {})

t.test('32 concurrent POSTs of different new cities of one country are all created', async t => {
  const app = await build(t)
  const answers = await Promise.all(Array.from({ length: AT_ONCE }, (_, i) => send(app, 'POST', `Nueva Ciudad ${i}`, true, `new-city-${i}`)))
  t.comment(JSON.stringify(statusCounts(answers)), rolledBack(app))
  t.same(answers.map(answer => answer.status), answers.map(() => 201))
  const cities = (await app.inject({ url: `/active/cities?country=${COUNTRY}` })).json().cities as Array<{ city: string }>
  t.equal(cities.filter(({ city }) => city.startsWith('Nueva Ciudad')).length, AT_ONCE, 'and all are stored')
})

t.test('32 concurrent POSTs of the same new city: exactly one 201, the rest 409', async t => {
  const app = await build(t)
  const answers = await Promise.all(Array.from({ length: AT_ONCE }, (_, i) => send(app, 'POST', 'Tipitapa', i % 2 === 0, `same-city-${i}`)))
  t.comment(JSON.stringify(statusCounts(answers)), rolledBack(app))
  t.equal(answers.filter(answer => answer.status === 201).length, 1, 'one created it')
  t.equal(answers.filter(answer => answer.status === 409).length, AT_ONCE - 1, 'the others were told it exists')
  const db = await directSql(t, app)
  const [creates] = await db.query<RowDataPacket[]>("SELECT request_id FROM location_changes WHERE city_key = 'tipitapa' AND action = 'create'")
  t.same(creates.map(row => row.request_id), answers.filter(answer => answer.status === 201).map(answer => answer.requestId), 'the one answered 201 is the one the history names')
})

interface State { from: number, exists: boolean, active: boolean }

/** The location's states as the history tells them, each from the moment of its change. */
function statesOf (changes: RowDataPacket[]): State[] {
  const states: State[] = [{ from: 0, exists: false, active: false }]
  for (const change of changes) {
    states.push({ from: Number(change.at_ms), exists: change.action !== 'delete', active: change.active === 1 })
  }
  return states
}

/** Whether the location was in a state that `matches` at some moment while the request was in flight. */
function wasWhileInFlight (states: State[], answer: Sent, matches: (state: State) => boolean): boolean {
  return states.some((state, i) => {
    const until = states[i + 1]?.from ?? Infinity
    return matches(state) && state.from <= answer.answeredAt + CLOCK_SLACK_MS && until >= answer.sentAt - CLOCK_SLACK_MS
  })
}

t.test('a concurrent mix of POST, PUT and DELETE on one city: every status says what the history shows the request did', async t => {
  const app = await build(t)
  const city = 'San Rafael del Sur'
  const methods: Method[] = ['POST', 'PUT', 'PUT', 'DELETE']
  const answers: Sent[] = []
  for (let round = 0; round < ROUNDS; round++) {
    answers.push(...await Promise.all(Array.from({ length: AT_ONCE }, (_, i) => {
      const method = methods[Math.floor(Math.random() * methods.length)]!
      return send(app, method, city, Math.random() < 0.5, `mix-${round}-${i}-${method.toLowerCase()}`)
    })))
  }
  t.comment(JSON.stringify(statusCounts(answers)), rolledBack(app))

  const db = await directSql(t, app)
  const [changes] = await db.query<RowDataPacket[]>(
    `SELECT action, active, request_id, version, ROUND(UNIX_TIMESTAMP(changed_at) * 1000) AS at_ms FROM location_changes
     WHERE country = ? AND city_key = 'san rafael del sur' ORDER BY id`, [COUNTRY])
  const actionOf = new Map(changes.map(change => [change.request_id as string, change.action as string]))
  const states = statesOf(changes)
  const lies: string[] = []
  const lie = (answer: Sent, why: string) => lies.push(`${answer.method} ${answer.requestId} answered ${answer.status} but ${why}`)

  for (const answer of answers) {
    const action = actionOf.get(answer.requestId)
    if (answer.status >= 500) lie(answer, 'another write running at the same time is no server error')
    else if (answer.method === 'POST') {
      if ((answer.status === 201) !== (action === 'create')) lie(answer, `the history says ${action ?? 'nothing'}`)
      else if (answer.status === 409 && !wasWhileInFlight(states, answer, state => state.exists)) lie(answer, 'the city did not exist meanwhile')
      else if (answer.status !== 201 && answer.status !== 409) lie(answer, 'a POST creates (201) or finds it exists (409)')
    } else if (answer.method === 'DELETE') {
      if ((answer.status === 204) !== (action === 'delete')) lie(answer, `the history says ${action ?? 'nothing'}`)
      else if (answer.status === 404 && !wasWhileInFlight(states, answer, state => !state.exists)) lie(answer, 'the city existed all along')
      else if (answer.status !== 204 && answer.status !== 404) lie(answer, 'a DELETE removes (204) or finds nothing (404)')
    } else if (answer.status === 200) {
      // A PUT of the value the city already has changes nothing and leaves no history row; it is still a 200.
      if (action !== 'update' && !wasWhileInFlight(states, answer, state => state.exists && state.active === answer.active)) {
        lie(answer, 'the history shows neither its update nor the city at that value meanwhile')
      }
      if ((answer.body as { update?: { active?: boolean } }).update?.active !== answer.active) lie(answer, 'its answer shows another value')
    } else if (answer.status === 404) {
      if (action !== undefined) lie(answer, `the history says ${action}`)
      else if (!wasWhileInFlight(states, answer, state => !state.exists)) lie(answer, 'the city existed all along')
    } else lie(answer, 'a PUT updates (200) or finds nothing (404)')
  }
  t.comment(`${lies.length} of ${answers.length} statuses contradict the history`)
  t.same(lies, [], 'no status contradicts the history')
  t.ok(changes.every((change, i) => i === 0 || Number(change.version) > Number(changes[i - 1]!.version)),
    'each change has a higher version than the one before: a re-create continues above its delete (services/cache/record-scripts.ts relies on it)')
  t.equal(changes.filter(change => change.request_id !== null && !answers.some(answer => answer.requestId === change.request_id)).length, 0,
    'every history row names one of these requests')
})

t.test('a PUT that MySQL picks as a deadlock\'s victim is sent again and answers 200, once in the history', async t => {
  const app = await build(t)
  const other = await directSql(t, app)
  await other.query('CREATE TABLE ballast (n INT NOT NULL)')
  await other.beginTransaction()
  // Rows written make this transaction the heavier one: InnoDB rolls back the lighter, the PUT.
  await other.query('INSERT INTO ballast (n) WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) SELECT n FROM s')
  // The gap at the end of the history: the PUT's trigger, holding Managua's row, waits to append its change there.
  await other.query('SELECT id FROM location_changes WHERE id > (SELECT COALESCE(MAX(id), 0) FROM (SELECT id FROM location_changes) AS known) FOR UPDATE')
  const put = send(app, 'PUT', 'Managua', false, 'deadlock-victim')
  await new Promise(resolve => setTimeout(resolve, 300))
  // Now each waits for the other: MySQL rolls the PUT back, whose retry then waits for this lock.
  await other.query("SELECT active FROM locations WHERE country = 'NI' AND city_key = 'managua' FOR UPDATE")
  await new Promise(resolve => setTimeout(resolve, 100))
  await other.rollback()

  const answer = await put
  t.equal(answer.status, 200)
  t.same(answer.body, { result: 'Ok', update: { country: 'NI', city: 'Managua', active: false } })
  t.ok(app.availabilityStore.rolledBackWrites.retried >= 1, 'the first attempt was rolled back and retried')
  t.equal(app.availabilityStore.rolledBackWrites.gaveUp, 0)
  t.equal(await appMetricSample(app, 'nicaventas_mysql_writes_rolled_back_total{outcome="retried"}'), app.availabilityStore.rolledBackWrites.retried, 'operators see it in /metrics')
  t.equal(await appMetricSample(app, 'nicaventas_mysql_writes_rolled_back_total{outcome="gave_up"}'), 0)
  const [changes] = await other.query<RowDataPacket[]>("SELECT action, operator FROM location_changes WHERE request_id = 'deadlock-victim'")
  t.same(changes.map(change => ({ ...change })), [{ action: 'update', operator: 'operator' }], 'applied once, for the same request and operator')
})
