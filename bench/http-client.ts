import { request, type Agent } from 'node:http'

export interface Answer {
  status: number
  body: string
}

const TIMEOUT_MS = 10_000

/** One HTTP request outside autocannon (warm-up, writes, the storm), through `agent` so connections can be opened ahead. */
export async function send (agent: Agent, url: string, options: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const outgoing = request(url, { agent, method: options.method ?? 'GET', headers: options.headers, timeout: TIMEOUT_MS }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      response.on('error', reject)
    })
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${options.method ?? 'GET'} ${url}: no answer within ${TIMEOUT_MS} ms`)))
    outgoing.on('error', reject)
    outgoing.end(options.body)
  })
}

/** PUT /active with the bench's token: the service's real invalidation path. */
export async function putLocation (agent: Agent, baseUrl: string, token: string, location: { country: string, city: string, active: boolean }): Promise<Answer> {
  return await send(agent, `${baseUrl}/active`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ country: location.country, city: location.city, active: location.active })
  })
}
