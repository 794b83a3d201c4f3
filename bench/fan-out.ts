import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { rssMb } from './process-stats.ts'
import { LatencyRecorder } from './statistics.ts'
import type { Target } from './targets.ts'

export interface FanOutResult {
  subscribers: number
  /** From the PUT being sent until each subscriber had the change event, ms. */
  delayMs: { p50: number, p99: number, max: number }
  /** From the PUT being sent until its answer arrived, ms. */
  acknowledgedMs: number
  /** The service's resident memory per open stream: (RSS with them - RSS before) / subscribers. */
  rssPerSubscriberKb: number
  rssBeforeMb: number
  rssWithSubscribersMb: number
}

// Connections opened at once: enough to be quick, few enough that the service's event loop never lags into shedding.
const CONNECT_BATCH = 250
const EVENT_TIMEOUT_MS = 30_000

interface Subscriber {
  socket: Socket
  /** When the change event arrived (performance.now()). */
  changedAt?: number
}

/** One stream over a raw socket: cheap enough to hold thousands in this process. Resolves once `hello` has arrived. */
function subscribe (port: number, onChange: () => void): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const subscriber: Subscriber = { socket: connect(port, '127.0.0.1') }
    let text = ''
    let opened = false
    subscriber.socket.setEncoding('utf8')
    subscriber.socket.once('error', reject)
    subscriber.socket.write('GET /active/events?country=NI HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n')
    subscriber.socket.on('data', (chunk: string) => {
      if (subscriber.changedAt !== undefined) return
      text += chunk
      if (!opened && text.includes('event: hello')) {
        opened = true
        if (!text.startsWith('HTTP/1.1 200')) reject(new Error(`the service refused a stream: ${text.split('\r\n')[0]}`))
        else resolve(subscriber)
      }
      if (text.includes('event: change')) {
        subscriber.changedAt = performance.now()
        onChange()
      }
      // Only the markers matter; the rest is dropped so thousands of streams hold little here.
      if (text.length > 4096) text = text.slice(-64)
    })
  })
}

/**
 * Opens `count` streams on one instance, makes one write, and times until
 * every subscriber has its change event; the service's RSS before and with
 * the streams gives its memory per subscriber. The subscribers live in this
 * process, so their own reading is part of the delays.
 */
export async function measureFanOut (service: Target, count: number, token: string): Promise<FanOutResult> {
  const port = Number(new URL(service.baseUrl).port)
  await sleep(500)
  const rssBeforeMb = rssMb(service.child.pid)
  const subscribers: Subscriber[] = []
  let changed = 0
  let allChanged = () => {}
  const everyone = new Promise<void>(resolve => { allChanged = resolve })
  const onChange = () => { if (++changed === count) allChanged() }
  try {
    for (let opened = 0; opened < count; opened += CONNECT_BATCH) {
      subscribers.push(...await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, count - opened) }, () => subscribe(port, onChange))))
    }
    await sleep(1000)
    const rssWithSubscribersMb = rssMb(service.child.pid)

    const sent = performance.now()
    const response = await fetch(`${service.baseUrl}/active`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ country: 'NI', city: 'Granada', active: true })
    })
    await response.arrayBuffer()
    const acknowledgedMs = performance.now() - sent
    if (response.status !== 200) throw new Error(`the fan-out's PUT answered ${response.status}`)
    await Promise.race([everyone, sleep(EVENT_TIMEOUT_MS).then(() => { throw new Error(`${changed} of ${count} subscribers had the change after ${EVENT_TIMEOUT_MS} ms`) })])
    const delays = new LatencyRecorder()
    for (const subscriber of subscribers) delays.record(subscriber.changedAt! - sent)
    const [p50, p99, max] = delays.percentiles([50, 99, 100]) as [number, number, number]
    return {
      subscribers: count,
      delayMs: { p50, p99, max },
      acknowledgedMs,
      rssPerSubscriberKb: (rssWithSubscribersMb - rssBeforeMb) * 1024 / count,
      rssBeforeMb,
      rssWithSubscribersMb
    }
  } finally {
    for (const subscriber of subscribers) subscriber.socket.destroy()
  }
}
