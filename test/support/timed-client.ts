import { AUTH } from '../helper.ts'

export interface TimedResponse {
  status: number
  body: Record<string, unknown> | null
  headers: Headers
  ms: number
}

// Longer than any bound a test asserts: a hang fails the test instead of stalling it.
const GIVE_UP_MS = 15_000

/**
 * An HTTP client for /active on a listening app that times every answer and
 * keeps the slowest, for tests that bound response times during an outage.
 */
export function timedClient (baseUrl: string) {
  let worstMs = 0

  async function request (method: string, query: string, payload?: object): Promise<TimedResponse> {
    const started = performance.now()
    const response = await fetch(`${baseUrl}/active${query}`, {
      method,
      headers: method === 'GET' ? {} : { ...AUTH, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      body: payload === undefined ? undefined : JSON.stringify(payload),
      signal: AbortSignal.timeout(GIVE_UP_MS)
    })
    const text = await response.text()
    const ms = performance.now() - started
    worstMs = Math.max(worstMs, ms)
    return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers, ms }
  }

  const at = (country: string, city: string) => `?country=${country}&city=${encodeURIComponent(city)}`
  return {
    get: (country: string, city: string) => request('GET', at(country, city)),
    put: (country: string, city: string, active: boolean) => request('PUT', '', { country, city, active }),
    post: (country: string, city: string, active: boolean) => request('POST', '', { country, city, active }),
    delete: (country: string, city: string) => request('DELETE', at(country, city)),
    /** The slowest answer since the last reset, in milliseconds. */
    get worstMs () { return worstMs },
    resetWorst () { worstMs = 0 }
  }
}

/** How many responses got each status, for a test's comment: "200×48, 503×2". */
export function tally (responses: TimedResponse[]): string {
  const counts = new Map<number, number>()
  for (const { status } of responses) counts.set(status, (counts.get(status) ?? 0) + 1)
  return [...counts].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(', ')
}
