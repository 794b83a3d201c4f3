// The change streams, OFREP, the console and the bulk change, checked through nginx against the
// three instances of `--profile scaled`: what deploy/nginx.conf's location for the streams must
// let through (each event at once, keep-alive comments, Last-Event-ID) and what the other routes
// need from the proxy (a POST body, the console's headers).
import { setTimeout as sleep } from 'node:timers/promises'
import { CheckFailure, type Client } from './client.ts'
import type { ComposeProject } from './compose-project.ts'
import { docker } from './compose-project.ts'
import { openEventStream, type EventStream, type StreamEvent } from './event-stream.ts'

const STREAM = '/active/events?country=NI'
const OFREP_STREAM = '/ofrep/v1/events?country=NI&city=Managua'
const DELIVERY_MS = 1000
/** Longer than the service's longest keep-alive interval (CHANGE_STREAM_KEEPALIVE_MS, 15 s at most). */
const IDLE_MS = 21_000

const ok = (line: string) => console.log(`ok   ${line}`)
const ms = (value: number) => `${value.toFixed(0)} ms`

interface Change { country: string, city: string, active: boolean | null }
const change = (event: StreamEvent) => JSON.parse(event.data) as Change

/** How many streams each instance of the service holds, from its own /metrics inside its container. */
async function subscribersPerInstance (stack: ComposeProject): Promise<number[]> {
  const instances = (await stack.containers()).filter(container => ['app', 'app-replica'].includes(container.Service))
  return await Promise.all(instances.map(async ({ Name }) => {
    const { code, output } = await docker(['exec', Name, 'node', '-e',
      "fetch('http://127.0.0.1:8000/metrics').then(r => r.text()).then(t => console.log(/^nicaventas_change_stream_subscribers (\\d+)/m.exec(t)[1]))"], stack.options.env)
    if (code !== 0) throw new CheckFailure(`the subscriber gauge of ${Name}: ${output.trim()}`, ['app'])
    return Number(output.trim())
  }))
}

/**
 * Three subscribers to NI's changes, opened one after the other: nginx balances them over the
 * instances, so a write through nginx is made on another instance than some of them.
 */
export async function openStreams (stack: ComposeProject, api: Client): Promise<EventStream[]> {
  const streams: EventStream[] = []
  for (let n = 0; n < 3; n++) {
    const stream = await openEventStream(api.base, STREAM)
    streams.push(stream)
    await stream.until(() => stream.events.find(event => event.event === 'hello'), 5000, `event: hello on GET ${STREAM}`)
  }
  const placement = await subscribersPerInstance(stack)
  if (placement.filter(count => count > 0).length < 2) {
    throw new CheckFailure(`three streams opened through nginx are held ${placement.join(', ')} by the ${placement.length} instances: ` +
      'nginx should balance them (the upstream in deploy/nginx.conf re-resolves `availability` every 5 s)', ['proxy'])
  }
  ok(`GET ${STREAM} × 3 through nginx → event: hello; streams per instance ${placement.join(', ')}`)
  return streams
}

/**
 * Sets Managua's flag through nginx, and waits for its change on every stream: each within
 * DELIVERY_MS of sending the PUT. Answers the delays.
 */
async function deliveredWithin (api: Client, token: string, streams: EventStream[], active: boolean): Promise<number[]> {
  const sentAt = performance.now()
  const put = await api.send('PUT', '/active', { body: JSON.stringify({ country: 'NI', city: 'Managua', active }), token })
  api.expectStatus(put, 200, 'PUT /active (Managua) through nginx')
  const delays = await Promise.all(streams.map(async stream => {
    const event = await stream.until(() => stream.events.find(event => event.at >= sentAt && event.event === 'change' &&
      change(event).city === 'Managua' && change(event).active === active), 5000, `the change of Managua to ${active}`)
    return event.at - sentAt
  }))
  const slowest = Math.max(...delays)
  if (slowest > DELIVERY_MS) {
    throw new CheckFailure(`a change reached its stream ${ms(slowest)} after the PUT was sent (${delays.map(ms).join(', ')}): more than ${ms(DELIVERY_MS)}; ` +
      'nginx may be buffering the stream (proxy_buffering in deploy/nginx.conf)', ['proxy', 'app'])
  }
  return delays
}

async function managuaActive (api: Client): Promise<boolean> {
  const answer = await api.send('GET', '/active?country=NI&city=Managua')
  api.expectStatus(answer, 200, 'GET Managua')
  return api.json(answer, 'GET Managua').active as boolean
}

/** A PUT through nginx reaches every stream, whichever instance holds it, within DELIVERY_MS. */
export async function changeDelivery (stack: ComposeProject, api: Client, token: string): Promise<void> {
  const streams = await openStreams(stack, api)
  try {
    const delays = await deliveredWithin(api, token, streams, !await managuaActive(api))
    ok(`PUT /active through nginx → the change on all three streams after ${delays.map(ms).join(', ')}`)
  } finally {
    for (const stream of streams) stream.close()
  }
}

/**
 * Delivery within DELIVERY_MS (and OFREP's refetchEvaluation); the streams kept open for IDLE_MS
 * with nothing to say, their keep-alive comments arriving through nginx; Last-Event-ID resuming a
 * closed stream with the change it missed; a bulk change reaching the streams.
 */
export async function streamsThroughNginx (stack: ComposeProject, api: Client, token: string): Promise<void> {
  const streams = await openStreams(stack, api)
  const ofrep = await openEventStream(api.base, OFREP_STREAM)
  try {
    const before = await managuaActive(api)
    const sentAt = performance.now()
    const delays = await deliveredWithin(api, token, streams, !before)
    const refetch = await ofrep.until(() => ofrep.events.find(event => event.at >= sentAt && event.data.includes('"refetchEvaluation"')), 5000, `refetchEvaluation on GET ${OFREP_STREAM}`)
    ok(`PUT /active through nginx → the change on all three streams after ${delays.map(ms).join(', ')}; ` +
      `OFREP's refetchEvaluation after ${ms(refetch.at - sentAt)}`)

    await sleep(IDLE_MS)
    for (const stream of [...streams, ofrep]) {
      if (stream.endedAt !== undefined) throw new CheckFailure(`an idle stream was ended ${ms(stream.endedAt - sentAt)} after the change, before ${ms(IDLE_MS)} (proxy_read_timeout in deploy/nginx.conf?)`, ['proxy'])
      if (!stream.comments.some(at => at > sentAt)) {
        throw new CheckFailure(`no keep-alive comment came through nginx in ${ms(IDLE_MS)} of an idle stream: nginx holds it back (proxy_buffering in deploy/nginx.conf)`, ['proxy'])
      }
    }
    const firstComments = streams.map(stream => (stream.comments.find(at => at > sentAt) as number) - sentAt)
    ok(`four streams idle for ${ms(IDLE_MS)} through nginx: still open, keep-alive comments arrived (the first ${firstComments.map(ms).join(', ')} after the change)`)

    const [closed, ...open] = streams as [EventStream, ...EventStream[]]
    closed.close()
    const seen = Number(closed.events.findLast(event => event.id !== undefined)?.id)
    const missedDelays = await deliveredWithin(api, token, open, before)
    const resumed = await openEventStream(api.base, STREAM, { 'last-event-id': String(seen) })
    streams.push(resumed)
    const missed = await resumed.until(() => resumed.events.find(event => event.event === 'change'), 5000, `the missed change after Last-Event-ID: ${seen}`)
    if (Number(missed.id) <= seen || change(missed).city !== 'Managua' || change(missed).active !== before) {
      throw new CheckFailure(`resumed with Last-Event-ID: ${seen}, the stream's first change is id ${missed.id} ${missed.data}: expected Managua's change to ${before}, after ${seen}`, ['proxy', 'app'])
    }
    ok(`after ${ms(IDLE_MS)} idle, the next change reached the open streams after ${missedDelays.map(ms).join(', ')}; ` +
      `reconnected with Last-Event-ID: ${seen}, a closed stream got the change it missed (id ${missed.id})`)

    await bulkChange(api, token, [resumed, ...open])
  } finally {
    for (const stream of [...streams, ofrep]) stream.close()
  }
}

/** León and Granada switched on (whatever they were), then off in one PUT /active/cities: both change, on every stream. */
async function bulkChange (api: Client, token: string, streams: EventStream[]): Promise<void> {
  const cities = ['León', 'Granada']
  const on = await api.send('PUT', '/active/cities', { body: JSON.stringify({ country: 'NI', active: true, cities }), token })
  api.expectStatus(on, 200, 'PUT /active/cities (on) through nginx')
  const sentAt = performance.now()
  const off = await api.send('PUT', '/active/cities', { body: JSON.stringify({ country: 'NI', active: false, cities }), token })
  api.expectStatus(off, 200, 'PUT /active/cities (off) through nginx')
  const answer = api.json(off, 'PUT /active/cities')
  if (answer.changed !== 2 || JSON.stringify(answer.cities) !== JSON.stringify(['Granada', 'León'])) {
    throw new CheckFailure(`PUT /active/cities {"active":false} after switching both on: expected 2 changed, Granada and León; got ${off.text}`, ['app'])
  }
  const delays = await Promise.all(streams.map(async stream => await stream.until(() => {
    const changes = stream.events.filter(event => event.at >= sentAt && event.event === 'change' && change(event).active === false)
    const both = cities.every(city => changes.some(event => change(event).city === city))
    return both ? Math.max(...changes.map(event => event.at)) - sentAt : undefined
  }, 5000, 'the bulk change of León and Granada')))
  ok(`PUT /active/cities through nginx → 200 ${off.text}; both changes on all three streams after ${delays.map(ms).join(', ')}`)
}

/** OFREP's single evaluation answers Managua's flag; the console is served with its Content-Security-Policy. */
export async function ofrepAndConsole (api: Client): Promise<void> {
  const expected = await managuaActive(api)
  const evaluation = await api.send('POST', '/ofrep/v1/evaluate/flags/sales-active', { body: '{"context":{"targetingKey":"NI/Managua"}}' })
  api.expectStatus(evaluation, 200, 'POST /ofrep/v1/evaluate/flags/sales-active')
  const flag = api.json(evaluation, 'OFREP evaluation')
  if (flag.key !== 'sales-active' || flag.value !== expected || flag.reason !== 'TARGETING_MATCH') {
    throw new CheckFailure(`OFREP evaluated sales-active for NI/Managua as ${evaluation.text}; GET /active says ${expected}`, ['app'])
  }
  ok(`POST /ofrep/v1/evaluate/flags/sales-active through nginx → 200 value ${flag.value}, ${flag.reason}`)

  const page = await api.send('GET', '/console/')
  api.expectStatus(page, 200, 'GET /console/')
  const policy = page.headers.get('content-security-policy') ?? ''
  if (!page.contentType.startsWith('text/html') || !/default-src 'self'/.test(policy) || !/frame-ancestors 'none'/.test(policy)) {
    throw new CheckFailure(`GET /console/ answered ${page.contentType} with Content-Security-Policy "${policy}": expected the page with default-src 'self' and frame-ancestors 'none'`, ['proxy', 'app'])
  }
  ok(`GET /console/ through nginx → 200 ${page.contentType}, Content-Security-Policy: ${policy}`)
}
