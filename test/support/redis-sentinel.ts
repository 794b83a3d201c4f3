import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePorts, holds, infoField, redisCall, redisProcessGroup, withRedis } from './redis-process.ts'
import { until } from './until.ts'

export interface SentinelGroup {
  /** The name the sentinels monitor the primary under, which a client asks them for. */
  readonly name: string
  /** Every sentinel, "127.0.0.1:S1,127.0.0.1:S2,...", as a service's sentinel list is written. */
  readonly sentinels: string
  readonly sentinelPorts: readonly number[]
  /** The primary first, then the replicas, as started; which is primary now is primaryPort()'s to say. */
  readonly dataPorts: readonly number[]
  /** The primary a live sentinel names now. */
  primaryPort (): Promise<number>
  /** SIGKILL one node (data node or sentinel), as in a crash, and waits for it to exit. */
  kill (port: number): Promise<void>
  /**
   * Waits until every live sentinel names the same live primary other than oldPort and that node
   * answers ROLE as master; `ms` counts from this call.
   */
  waitForNewPrimary (oldPort: number, timeoutMs?: number): Promise<{ port: number, ms: number }>
  /**
   * Starts a killed node again with its own config file and waits until the group is whole: a data
   * node replicating the primary, a sentinel knowing it and the others.
   */
  restart (port: number, timeoutMs?: number): Promise<void>
  /** Kills every node and removes their files. */
  stop (): Promise<void>
}

/** A flat [field, value, ...] reply (SENTINEL MASTER, one entry of SENTINEL REPLICAS) as a record. */
function fields (reply: unknown): Record<string, string> {
  const flat = reply as string[]
  const record: Record<string, string> = {}
  for (let index = 0; index + 1 < flat.length; index += 2) record[flat[index] as string] = String(flat[index + 1])
  return record
}

/** What `port` answers to ROLE: its role and, for a replica, whose and whether connected. */
async function role (port: number): Promise<{ role: string, masterPort?: number, state?: string }> {
  const [name, , masterPort, state] = await redisCall(port, 'ROLE') as [string, unknown, unknown, unknown]
  return name === 'slave' ? { role: name, masterPort: Number(masterPort), state: String(state) } : { role: name }
}

/**
 * A primary with its replicas and the sentinels that watch them (all on free ports, files in a
 * temporary directory, no persistence beyond what replication writes), so a test can crash the
 * primary and watch a client follow the sentinels to the new one. Every node has a config file of
 * its own, because sentinels rewrite theirs and the data nodes' (SLAVEOF, CONFIG REWRITE) and a
 * restarted node must come back with what they wrote. Resolves only once every sentinel knows the
 * primary, every replica and every other sentinel, and the replicas are in sync: a test that starts
 * on a group still discovering itself would fail over before the sentinels could. Call stop() in
 * the teardown.
 */
export async function startSentinelGroup (options: { replicas?: number, sentinels?: number, downAfterMs?: number, failoverTimeoutMs?: number } = {}): Promise<SentinelGroup> {
  const { replicas = 1, sentinels = 3, downAfterMs = 1000, failoverTimeoutMs = 5000 } = options
  const name = 'nicaventas'
  const quorum = Math.floor(sentinels / 2) + 1
  const group = await redisProcessGroup('sentinel')
  const { dir, node } = group
  const allPorts = await freePorts(1 + replicas + sentinels)
  const dataPorts = allPorts.slice(0, 1 + replicas)
  const sentinelPorts = allPorts.slice(1 + replicas)
  const [firstPrimary] = dataPorts as [number, ...number[]]

  for (const port of dataPorts) {
    const file = join(dir, `redis-${port}.conf`)
    await writeFile(file, [
      `port ${port}`,
      'bind 127.0.0.1',
      'save ""',
      'appendonly no',
      `dir ${dir}`,
      // Nodes share the directory; what a replica's full sync writes is its own.
      `dbfilename dump-${port}.rdb`,
      // Redis 7 waits 5 s for more replicas before a diskless full sync, at start and after every failover.
      'repl-diskless-sync-delay 0',
      ...(port === firstPrimary ? [] : [`replicaof 127.0.0.1 ${firstPrimary}`]),
      ''
    ].join('\n'))
    group.add(port, [file])
  }
  for (const port of sentinelPorts) {
    const file = join(dir, `sentinel-${port}.conf`)
    await writeFile(file, [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${firstPrimary} ${quorum}`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
      ''
    ].join('\n'))
    group.add(port, [file, '--sentinel'])
  }

  const liveSentinels = () => sentinelPorts.filter(port => node(port).running)
  const liveData = () => dataPorts.filter(port => node(port).running)

  const namedBy = async (sentinel: number) => {
    const [, port] = await redisCall(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as [string, string]
    return Number(port)
  }

  /** Every running replica replicates `primary` with its link up. */
  async function replicasInSync (primary: number): Promise<boolean> {
    for (const port of liveData()) {
      if (port === primary) continue
      const answer = await role(port)
      if (answer.role !== 'slave' || answer.masterPort !== primary || answer.state !== 'connected') return false
      if (infoField(await redisCall(port, 'INFO', 'replication') as string, 'master_link_status') !== 'up') return false
    }
    return true
  }

  /**
   * Every live sentinel names the same running primary, which says it is one, sees it up, every
   * running replica up, every other live sentinel up, and has its quorum, and every running replica
   * is in sync; `all` asks moreover that the sentinels know every node, and see every replica in
   * sync themselves (at start, when none is dead).
   */
  async function whole (all: boolean): Promise<boolean> {
    const live = liveSentinels()
    if (live.length === 0) return false
    const named = new Set(await Promise.all(live.map(namedBy)))
    const [primary] = named
    if (named.size !== 1 || primary === undefined || !node(primary).running) return false
    if ((await role(primary)).role !== 'master') return false
    if (!await replicasInSync(primary)) return false
    for (const sentinel of live) {
      const ok = await withRedis(sentinel, async redis => {
        const master = fields(await redis.call('SENTINEL', 'MASTER', name))
        if (master.flags !== 'master') return false
        if (all && (master['num-slaves'] !== String(replicas) || master['num-other-sentinels'] !== String(sentinels - 1))) return false
        const known = (await redis.call('SENTINEL', 'REPLICAS', name) as unknown[]).map(fields)
        for (const port of liveData()) {
          if (port === primary) continue
          const replica = known.find(entry => entry.port === String(port))
          if (replica?.flags !== 'slave') return false
          // What a sentinel says of a replica's link comes from an INFO it asks every 10 s; the
          // replica's own word (replicasInSync) is as good and comes 10 s sooner after a restart.
          if (all && (replica['master-link-status'] !== 'ok' || replica['master-port'] !== String(primary))) return false
        }
        const others = (await redis.call('SENTINEL', 'SENTINELS', name) as unknown[]).map(fields)
        for (const port of live) {
          if (port === sentinel) continue
          if (others.find(entry => entry.port === String(port))?.flags !== 'sentinel') return false
        }
        return String(await redis.call('SENTINEL', 'CKQUORUM', name)).startsWith('OK')
      })
      if (!ok) return false
    }
    return true
  }

  const whenWhole = async (what: string, all: boolean, timeoutMs = 30_000) => {
    try {
      await until(async () => await holds(async () => await whole(all)), what, timeoutMs)
    } catch (error) {
      const logs = group.all.filter(each => each.running).map(each => `--- node ${each.port}:\n${each.output().slice(-2000)}`).join('\n')
      throw new Error(`${(error as Error).message}\n${logs}`)
    }
  }

  async function primaryPort (): Promise<number> {
    let last: unknown = new Error('no sentinel of the group is running')
    for (const sentinel of liveSentinels()) {
      try {
        return await namedBy(sentinel)
      } catch (error) {
        last = error
      }
    }
    throw last
  }

  async function waitForNewPrimary (oldPort: number, timeoutMs = 30_000): Promise<{ port: number, ms: number }> {
    const started = performance.now()
    let port: number | undefined
    await until(async () => await holds(async () => {
      const named = new Set(await Promise.all(liveSentinels().map(namedBy)))
      const [only] = named
      if (named.size !== 1 || only === undefined || only === oldPort || !node(only).running) return false
      if ((await role(only)).role !== 'master') return false
      port = only
      return true
    }), `a primary other than ${oldPort} named by every live sentinel`, timeoutMs)
    return { port: port as number, ms: performance.now() - started }
  }

  async function restart (port: number, timeoutMs = 30_000): Promise<void> {
    await node(port).start()
    // A primary killed before the failover comes back a primary; the sentinels turn it into a
    // replica only once it has said so for 8 s (SENTINEL_PUBLISH_PERIOD * 4), hence the long wait.
    await whenWhole(`node ${port} back in the group`, false, timeoutMs)
  }

  const { stop } = group

  try {
    for (const port of dataPorts) await node(port).start()
    // Before the sentinels: they learn the replicas from the primary's INFO, asked once at once and then every 10 s.
    await until(async () => await holds(async () => await replicasInSync(firstPrimary)), `${replicas} replicas in sync with ${firstPrimary}`)
    for (const port of sentinelPorts) await node(port).start()
    await whenWhole(`${sentinels} sentinels knowing the primary and its ${replicas} replicas`, true)
  } catch (error) {
    await stop()
    throw error
  }

  return {
    name,
    sentinels: sentinelPorts.map(port => `127.0.0.1:${port}`).join(','),
    sentinelPorts,
    dataPorts,
    primaryPort,
    kill: async port => { await node(port).kill() },
    waitForNewPrimary,
    restart,
    stop
  }
}
