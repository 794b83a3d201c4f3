/** One container as `docker compose ps --all --format json` describes it (the fields used here). */
export interface Container {
  Name: string
  Service: string
  /** running, exited, restarting, created... */
  State: string
  /** healthy, unhealthy, starting; empty (or absent) for a container without a healthcheck. */
  Health?: string
  ExitCode: number
}

/**
 * The containers in `docker compose ps --all --format json`'s output: one JSON object per line
 * since Compose 2.21, one JSON array before.
 */
export function parseContainers (output: string): Container[] {
  const text = output.trim()
  if (text === '') return []
  if (text.startsWith('[')) return JSON.parse(text) as Container[]
  return text.split('\n').map(line => JSON.parse(line) as Container)
}

/**
 * Whether a container is not as `up --wait` wants it: a healthcheck that does not say healthy,
 * or, without one, a container neither running nor a one-shot job that exited 0.
 */
export function isUnwell (container: Container): boolean {
  const health = container.Health ?? ''
  if (health !== '') return health !== 'healthy'
  return !(container.State === 'running' || (container.State === 'exited' && container.ExitCode === 0))
}
