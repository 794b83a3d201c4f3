import type { Environment, RedisNode, RedisTopology } from '../schemas/config.ts'

export type RedisTopologyReading = { topology: RedisTopology, waitReplicas: number } | { problem: string }

// A hostname, an IPv4 address or a bracketed IPv6 one, then a port.
const NODE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/

function readNodes (variable: string, list: string): { nodes: RedisNode[] } | { problem: string } {
  const nodes: RedisNode[] = []
  for (const [index, field] of list.split(',').entries()) {
    const entry = field.trim()
    if (entry === '') continue
    const match = NODE.exec(entry)
    const port = Number(match?.[2])
    if (match === null || port < 1 || port > 65535) {
      return { problem: `${variable} entry ${index + 1} ("${entry}") is not host:port with a port from 1 to 65535` }
    }
    nodes.push({ host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port })
  }
  if (nodes.length === 0) return { problem: `${variable} is set but lists no host:port` }
  return { nodes }
}

/**
 * Reads which Redis the cache uses: REDIS_CLUSTER_NODES (a Redis Cluster),
 * REDIS_SENTINELS with REDIS_SENTINEL_NAME (a primary the Sentinels fail
 * over), or else the single REDIS_LOCATION:REDIS_PORT. A combination that
 * cannot mean one thing is a problem naming the variables, found at start
 * rather than at the first request.
 *
 * With replicas (Cluster, Sentinel) a write's invalidation waits, by
 * default, until one replica holds it: otherwise a primary that dies
 * before replicating would hand the replica that takes over the entry the
 * write deleted, and an acknowledged write would be read stale.
 */
export function readRedisTopology (env: Environment): RedisTopologyReading {
  const cluster = env.REDIS_CLUSTER_NODES
  const sentinels = env.REDIS_SENTINELS
  if (cluster !== undefined && sentinels !== undefined) {
    return { problem: 'REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set: a Redis Cluster fails over by itself and takes no Sentinels; set one of them' }
  }
  if (sentinels === undefined && env.REDIS_SENTINEL_NAME !== undefined) {
    return { problem: 'REDIS_SENTINEL_NAME is set without REDIS_SENTINELS: list the Sentinels (host:port, comma-separated)' }
  }

  if (cluster !== undefined) {
    if (env.REDIS_DB !== 0) return { problem: `REDIS_DB is ${env.REDIS_DB}, but a Redis Cluster has database 0 only: leave REDIS_DB unset with REDIS_CLUSTER_NODES` }
    if (env.CACHE_LOCAL_TTL_MS > 0) {
      // Its subscriber moves between nodes by itself, without telling us when messages may have been lost in between.
      return { problem: 'CACHE_LOCAL_TTL_MS must be 0 with REDIS_CLUSTER_NODES: the local tier needs a subscription that says when it was lost, which ioredis\'s Cluster does not give' }
    }
    const reading = readNodes('REDIS_CLUSTER_NODES', cluster)
    if ('problem' in reading) return reading
    return { topology: { kind: 'cluster', seeds: reading.nodes }, waitReplicas: env.REDIS_WAIT_REPLICAS ?? 1 }
  }

  if (sentinels !== undefined) {
    if (env.REDIS_SENTINEL_NAME === undefined) {
      return { problem: 'REDIS_SENTINELS is set without REDIS_SENTINEL_NAME: name the primary as the Sentinels know it (their "sentinel monitor <name>")' }
    }
    const reading = readNodes('REDIS_SENTINELS', sentinels)
    if ('problem' in reading) return reading
    return { topology: { kind: 'sentinel', sentinels: reading.nodes, name: env.REDIS_SENTINEL_NAME }, waitReplicas: env.REDIS_WAIT_REPLICAS ?? 1 }
  }

  return { topology: { kind: 'single', node: { host: env.REDIS_LOCATION, port: env.REDIS_PORT } }, waitReplicas: env.REDIS_WAIT_REPLICAS ?? 0 }
}
