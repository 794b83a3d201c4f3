import { freePorts, holds, infoField, redisCall, redisCli, redisProcessGroup, withRedis } from './redis-process.ts'
import { until } from './until.ts'

const SLOTS = 16384

export interface RedisCluster {
  /** Every node, "127.0.0.1:P1,127.0.0.1:P2,...", as a service's seed list is written. */
  readonly seeds: string
  readonly ports: readonly number[]
  /** The port of the master serving the key's slot, as a live node sees it now. */
  masterOf (key: string): Promise<number>
  /** The running replicas of that master, as a live node sees them now. */
  replicasOf (masterPort: number): Promise<number[]>
  /** SIGKILL one node, as in a crash, and waits for it to exit. */
  kill (port: number): Promise<void>
  /**
   * Waits until the slots the killed master served are served by one live node, as every live node
   * sees it, and every live node says cluster_state:ok; `ms` counts from this call.
   */
  waitForFailover (deadPort: number, timeoutMs?: number): Promise<{ newMasterPort: number, ms: number }>
  /** Starts a killed node again with its own nodes.conf and waits until the cluster has it back. */
  restart (port: number): Promise<void>
  /** Kills every node and removes their files. */
  stop (): Promise<void>
}

interface ClusterNode {
  id: string
  port: number
  flags: Set<string>
  masterId: string | undefined
  connected: boolean
  slots: string
}

/** One node's CLUSTER NODES, with the flags that differ only by who is asked ("myself") left out. */
function parseNodes (text: string): ClusterNode[] {
  return text.split('\n').filter(line => line.trim() !== '').map(line => {
    const [id = '', address = '', flags = '', master = '-', , , , link = '', ...slots] = line.trim().split(' ')
    const port = Number(address.split('@')[0]?.split(':').pop())
    const flagSet = new Set(flags.split(',').filter(flag => flag !== 'myself'))
    return {
      id,
      port,
      flags: flagSet,
      masterId: master === '-' ? undefined : master,
      connected: link === 'connected',
      // Slots being migrated ("[...]") are no one's yet.
      slots: slots.filter(slot => !slot.startsWith('[')).join(' ')
    }
  })
}

const slotCount = (slots: string) => slots.split(' ').filter(range => range !== '').reduce((count, range) => {
  const [first, last = first] = range.split('-').map(Number)
  return count + (last ?? 0) - (first ?? 0) + 1
}, 0)

/** The first slot of each of the ranges in a CLUSTER NODES slot list: enough to ask who serves them. */
const firstSlots = (slots: string) => slots.split(' ').filter(range => range !== '').map(range => Number(range.split('-')[0]))

type SlotsReply = Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>

/** Who serves `slot` according to the node on `port` (CLUSTER SLOTS), undefined when no one does. */
async function servingPort (port: number, slot: number): Promise<number | undefined> {
  const ranges = await redisCall(port, 'CLUSTER', 'SLOTS') as SlotsReply
  const range = ranges.find(([first, last]) => first <= slot && slot <= last)
  return range?.[2][1]
}

/**
 * A Redis Cluster of the test's own (masters × (1 + replicasPerMaster) redis-servers on free
 * ports, bus ports chosen free as well, files in a temporary directory, no persistence beyond what
 * replication writes), so a test can crash a master and watch a client follow the failover.
 * Resolves only once every node agrees on the whole slot map and every replica is in sync: a test
 * that starts on a cluster still forming would measure its forming. Call stop() in the teardown.
 */
export async function startRedisCluster (options: { masters?: number, replicasPerMaster?: number, nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 1, nodeTimeoutMs = 1000 } = options
  // redis-cli --cluster create refuses fewer.
  if (masters < 3) throw new Error('a Redis Cluster needs at least 3 masters')
  const count = masters * (1 + replicasPerMaster)
  const group = await redisProcessGroup('cluster')
  const { dir, node } = group
  const allPorts = await freePorts(count * 2)
  const ports = allPorts.slice(0, count)
  for (const [index, port] of ports.entries()) {
    group.add(port, [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      // Its own bus port: port + 10000, the default, may be taken or past 65535.
      '--cluster-port', String(allPorts[count + index]),
      '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', String(nodeTimeoutMs),
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      // Nodes share the directory; what a replica's full sync writes is its own.
      '--dbfilename', `dump-${port}.rdb`,
      // Redis 7 waits 5 s for more replicas before a diskless full sync, at creation and at every rejoin.
      '--repl-diskless-sync-delay', '0'
    ])
  }
  // The slots each killed master served when it was killed, for waitForFailover.
  const servedAtKill = new Map<number, string>()

  const running = () => ports.filter(port => node(port).running)

  /** The first running node's answer: the nodes may disagree only while a change spreads. */
  async function askAnyLive<T> (ask: (port: number) => Promise<T>): Promise<T> {
    let last: unknown = new Error('no node of the cluster is running')
    for (const port of running()) {
      try {
        return await ask(port)
      } catch (error) {
        last = error
      }
    }
    throw last
  }

  /**
   * Every running node says cluster_state:ok with all slots assigned, knows every node (the killed
   * ones too) and none of the running ones as failing, all see the same masters, replicas and slots,
   * and every running replica's link to its master is up.
   */
  async function settled (fullReplicas: boolean): Promise<boolean> {
    const live = running()
    const views = await Promise.all(live.map(async port => await withRedis(port, async redis => {
      const info = await redis.call('CLUSTER', 'INFO') as string
      const view = parseNodes(await redis.call('CLUSTER', 'NODES') as string)
      const replication = await redis.call('INFO', 'replication') as string
      return { port, info, view, replication }
    })))
    let agreed: string | undefined
    for (const { port, info, view, replication } of views) {
      if (infoField(info, 'cluster_state') !== 'ok' || infoField(info, 'cluster_slots_assigned') !== String(SLOTS)) return false
      if (view.length !== ports.length || !ports.every(known => view.some(entry => entry.port === known))) return false
      const byId = new Map(view.map(entry => [entry.id, entry]))
      for (const entry of view) {
        if (node(entry.port).running && (entry.flags.has('fail') || entry.flags.has('fail?') || entry.flags.has('handshake') || !entry.connected)) return false
      }
      const serving = view.filter(entry => entry.flags.has('master') && entry.slots !== '')
      if (serving.length !== masters || serving.reduce((sum, entry) => sum + slotCount(entry.slots), 0) !== SLOTS) return false
      if (fullReplicas && serving.some(master => view.filter(entry => entry.masterId === master.id && node(entry.port).running).length !== replicasPerMaster)) return false
      const me = view.find(entry => entry.port === port)
      if (me?.masterId !== undefined && infoField(replication, 'master_link_status') !== 'up') return false
      const signature = view
        .map(entry => `${entry.port} ${entry.flags.has('master') ? 'master' : 'replica'} ${byId.get(entry.masterId ?? '')?.port ?? '-'} ${entry.flags.has('fail') ? 'fail' : ''} ${entry.slots}`)
        .sort()
        .join('\n')
      if (agreed !== undefined && signature !== agreed) return false
      agreed = signature
    }
    return true
  }

  const whenSettled = async (what: string, fullReplicas: boolean, timeoutMs = 30_000) => {
    try {
      await until(async () => await holds(async () => await settled(fullReplicas)), what, timeoutMs)
    } catch (error) {
      const logs = running().map(port => `--- node ${port}:\n${node(port).output().slice(-2000)}`).join('\n')
      throw new Error(`${(error as Error).message}\n${logs}`)
    }
  }

  async function masterOf (key: string): Promise<number> {
    return await askAnyLive(async port => {
      const slot = await redisCall(port, 'CLUSTER', 'KEYSLOT', key) as number
      const master = await servingPort(port, slot)
      if (master === undefined) throw new Error(`no node serves slot ${slot} of key ${key}`)
      return master
    })
  }

  async function replicasOf (masterPort: number): Promise<number[]> {
    const nodesOf = async (port: number) => parseNodes(await redisCall(port, 'CLUSTER', 'NODES') as string)
    // The master itself is the first to know who replicates it.
    const view = node(masterPort).running ? await nodesOf(masterPort) : await askAnyLive(nodesOf)
    const master = view.find(entry => entry.port === masterPort)
    if (master === undefined) throw new Error(`port ${masterPort} is not a node of this cluster`)
    return view
      .filter(entry => entry.masterId === master.id && !entry.flags.has('fail') && node(entry.port).running)
      .map(entry => entry.port)
  }

  async function kill (port: number): Promise<void> {
    const target = node(port)
    if (!target.running) return
    // Remembered now: after the failover no node says any more what the dead master served.
    try {
      const me = parseNodes(await redisCall(port, 'CLUSTER', 'NODES') as string).find(entry => entry.port === port)
      servedAtKill.set(port, me?.flags.has('master') === true ? me.slots : '')
    } catch {
      // A frozen node cannot say; waitForFailover asks a live one instead.
      servedAtKill.delete(port)
    }
    await target.kill()
  }

  async function waitForFailover (deadPort: number, timeoutMs = 30_000): Promise<{ newMasterPort: number, ms: number }> {
    const started = performance.now()
    if (node(deadPort).running) throw new Error(`node ${deadPort} is running: kill it first`)
    const served = servedAtKill.get(deadPort) ??
      await askAnyLive(async port => parseNodes(await redisCall(port, 'CLUSTER', 'NODES') as string).find(entry => entry.port === deadPort)?.slots ?? '')
    const slots = firstSlots(served)
    if (slots.length === 0) throw new Error(`node ${deadPort} served no slots when it was killed: there is no failover to wait for`)
    let newMasterPort: number | undefined
    await until(async () => await holds(async () => {
      const seen = new Set<number | undefined>()
      for (const port of running()) {
        const info = await redisCall(port, 'CLUSTER', 'INFO') as string
        if (infoField(info, 'cluster_state') !== 'ok') return false
        for (const slot of slots) seen.add(await servingPort(port, slot))
      }
      const [only] = seen
      if (seen.size !== 1 || only === undefined || only === deadPort || !node(only).running) return false
      newMasterPort = only
      return true
    }), `the slots of killed master ${deadPort} served by a live node`, timeoutMs)
    return { newMasterPort: newMasterPort as number, ms: performance.now() - started }
  }

  async function restart (port: number): Promise<void> {
    await node(port).start()
    servedAtKill.delete(port)
    await whenSettled(`node ${port} back in the cluster`, false)
  }

  const { stop } = group

  try {
    await Promise.all(group.all.map(each => each.start()))
    await redisCli(['--cluster', 'create', ...ports.map(port => `127.0.0.1:${port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'])
    await whenSettled(`a cluster of ${masters} masters with ${replicasPerMaster} replicas each`, true)
  } catch (error) {
    await stop()
    throw error
  }

  return {
    seeds: ports.map(port => `127.0.0.1:${port}`).join(','),
    ports,
    masterOf,
    replicasOf,
    kill,
    waitForFailover,
    restart,
    stop
  }
}
