/**
 * A client of the deployment: plain HTTP to the port nginx publishes, nothing else. A check that
 * fails throws a CheckFailure that says what a person can do, and which services' logs show why.
 */

export class CheckFailure extends Error {
  /** The compose services whose logs explain the failure. */
  readonly services: string[]
  constructor (message: string, services: string[] = []) {
    super(message)
    this.services = services
  }
}

export interface Answer {
  status: number
  contentType: string
  headers: Headers
  text: string
}

export interface Client {
  readonly base: string
  /** GET, PUT or POST `path`; a body is sent as JSON; `token` as a bearer token. */
  send (method: 'GET' | 'PUT' | 'POST', path: string, options?: { body?: string, token?: string }): Promise<Answer>
  /** The answer's JSON, or a CheckFailure that says whose answer it was. */
  json (answer: Answer, what: string): Record<string, unknown>
  /** Fails unless the answer has `status`, explaining the usual causes of what came instead. */
  expectStatus (answer: Answer, status: number, what: string): void
}

/** Whether nginx wrote this answer itself (its error pages are HTML naming nginx; the service answers JSON). */
const fromNginx = (answer: Answer): boolean => answer.contentType.startsWith('text/html') && answer.text.includes('<center>nginx</center>')

export function client (host: string, port: number): Client {
  const base = `http://${host}:${port}`
  const self: Client = {
    base,
    async send (method, path, { body, token } = {}) {
      const headers: Record<string, string> = {}
      if (body !== undefined) headers['content-type'] = 'application/json'
      if (token !== undefined) headers.authorization = `Bearer ${token}`
      let response: Response
      try {
        response = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) })
      } catch (error) {
        const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message
        throw new CheckFailure(`${method} ${base}${path}: no answer (${cause}). nginx (the proxy service) should publish ` +
          `${port}; its log and \`docker compose ps\` show whether it runs`, ['proxy'])
      }
      return { status: response.status, contentType: response.headers.get('content-type') ?? '', headers: response.headers, text: await response.text() }
    },
    json (answer, what) {
      try {
        return JSON.parse(answer.text) as Record<string, unknown>
      } catch {
        throw new CheckFailure(`${what}: expected the service's JSON, got ${answer.status} ${answer.contentType}: ${answer.text.slice(0, 200)}`, ['proxy', 'app'])
      }
    },
    expectStatus (answer, status, what) {
      if (answer.status === status) return
      const got = `${what}: expected ${status}, got ${answer.status}`
      if (fromNginx(answer) && [502, 504].includes(answer.status)) {
        throw new CheckFailure(`${got} from nginx itself: nginx reached no instance of the service. Check the upstream in ` +
          'deploy/nginx.conf (`server availability:8000 resolve`) against the app\'s network alias (`availability`) and ' +
          'PORT (8000) in docker-compose.yml; the proxy\'s log below says what nginx tried', ['proxy', 'app'])
      }
      if (fromNginx(answer)) throw new CheckFailure(`${got} from nginx itself (deploy/nginx.conf): ${answer.text.slice(0, 200)}`, ['proxy'])
      throw new CheckFailure(`${got} from the service: ${answer.text.slice(0, 300)}; the app's log below says why`, ['app'])
    }
  }
  return self
}
