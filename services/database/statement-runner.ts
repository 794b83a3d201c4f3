import type { MySQLPromisePool } from '@fastify/mysql'
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { createAdmissionGate, type AdmissionGate } from './admission-gate.ts'
import { asUnavailable, DatabaseUnavailableError } from './errors.ts'

export type StatementKind = 'read' | 'write'

export interface StatementTimings {
  /** How long a statement queued for a connection slot. */
  queueWait? (ms: number): void
  /** How long a statement held its slot: connection, round trip and answer. */
  statement? (kind: StatementKind, ms: number): void
}

export interface StatementRunnerOptions {
  /** Connections in the pool: the gate's slots. */
  poolSize: number
  /** A read's whole budget: its turn, a connection and the statement. */
  readTimeoutMs: number
  /**
   * A write's budget, and how long any statement may run before its
   * connection is judged broken and closed.
   */
  writeTimeoutMs: number
  timings: StatementTimings
}

type Result = RowDataPacket[] | ResultSetHeader | [RowDataPacket[], ResultSetHeader]

/** A statement built when it gets its connection: a batch takes in whoever joined it while it waited. */
export type StatementBuilder = () => { sql: string, values: unknown[] }

/** `background`: a statement no request waits for (the invalidation sync), left out of `statementCount`. */
export interface StatementOptions {
  background?: boolean
}

export interface StatementRunner {
  read<T extends Result> (sql: string, values: unknown[], options?: StatementOptions): Promise<T>
  /**
   * A read whose statement is built once it has a slot, whose budget started
   * at `startedAt`, and that stands for `requests()` requests (a batch).
   */
  readWhenAdmitted<T extends Result> (build: StatementBuilder, startedAt: number, requests: () => number): Promise<T>
  write<T extends Result> (sql: string, values: unknown[], options?: StatementOptions): Promise<T>
  readonly gate: AdmissionGate
  /** Statements sent to MySQL since start-up for requests, background ones left out. */
  readonly statementCount: number
  /** Whether MySQL answered a statement within the last `withinMs`, and no connection to it has failed since. */
  answeredRecently (withinMs: number): boolean
  /** Refuses every statement from now on (they would meet a closed pool); call before closing the pool. */
  close (): void
}

/** An error MySQL itself sent (a duplicate key, a lock wait): the connection is still in a known state. */
function sentByServer (error: unknown): boolean {
  const { sqlState, fatal } = error as { sqlState?: unknown, fatal?: unknown }
  return typeof sqlState === 'string' && fatal !== true
}

/**
 * Runs statements on the pool so that a slow MySQL costs latency, not
 * connections. A timeout ends the caller's wait, never a healthy
 * connection: a read whose budget runs out answers 503 while its statement
 * finishes and its connection goes back to the pool; a write, once sent,
 * is waited for (it may commit) for its own, longer budget. Only a
 * connection that errs, or that has not answered within the write budget,
 * is closed. Statements use the text protocol (values escaped by mysql2):
 * a prepared statement costs a second round trip on every new connection.
 */
// Kept whole: its steps share the gate, the pool's connections and the answered/failed clock that answeredRecently reads.
export function createStatementRunner (pool: MySQLPromisePool, options: StatementRunnerOptions): StatementRunner {
  const gate = createAdmissionGate(options.poolSize)
  // A write stuck behind a row lock gets MySQL's own, definite refusal before the write budget
  // would make us give up on it without knowing whether it committed. Set on every new connection,
  // before it runs anything else (a connection runs its commands in order).
  const lockWaitSeconds = Math.max(1, Math.floor(options.writeTimeoutMs / 1000) - 1)
  // The callback pool's event: it hands over the connection itself, before anyone else has it.
  pool.pool.pool.on('connection', connection => {
    // InnoDB always knows this variable; were it refused, the server's default (50 s) would stand.
    connection.query(`SET SESSION innodb_lock_wait_timeout = ${lockWaitSeconds}`, () => {})
  })
  const { timings } = options
  let statementCount = 0
  let lastAnswerAt = 0
  let lastFailureAt = 0

  function deadlineError (kind: StatementKind, budgetMs: number): DatabaseUnavailableError {
    return new DatabaseUnavailableError(kind === 'read'
      ? `MySQL did not answer within ${budgetMs} ms; try again in a few seconds`
      : `MySQL did not take the write within ${budgetMs} ms; it was not applied, try again in a few seconds`)
  }

  /** The statement on a connection; holds the slot until MySQL answers or the connection is given up. */
  async function onConnection<T extends Result> (connection: PoolConnection, sql: string, values: unknown[]): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const broken = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        // mysql2 never settles a command whose connection is destroyed, hence the rejection of our own.
        connection.destroy()
        reject(new DatabaseUnavailableError(
          `MySQL did not answer within ${options.writeTimeoutMs} ms; a write may or may not have been applied, read it back before retrying`
        ))
      }, options.writeTimeoutMs)
    })
    try {
      const [result] = await Promise.race([connection.query<T>({ sql, values }), broken]).finally(() => clearTimeout(timer))
      lastAnswerAt = Date.now()
      connection.release()
      return result
    } catch (error) {
      if (sentByServer(error)) {
        lastAnswerAt = Date.now()
        connection.release()
      } else {
        connection.destroy()
      }
      throw error
    }
  }

  async function run<T extends Result> (
    kind: StatementKind, build: StatementBuilder, startedAt = Date.now(), requests?: () => number, background = false
  ): Promise<T> {
    const budgetMs = kind === 'read' ? options.readTimeoutMs : options.writeTimeoutMs
    // Writes are precious: they wait out their own budget rather than be refused on an estimate.
    const slot = await gate.enter(startedAt + budgetMs, { patient: kind === 'write', requests })
    timings.queueWait?.(slot.waitedMs)
    const started = Date.now()
    let callerGone = false
    let sent = false

    const answer = (async () => {
      try {
        const connection = await pool.getConnection()
        if (callerGone) {
          // Opened for a caller that has had its 503: a healthy connection for the next one, and nothing run.
          connection.release()
          throw deadlineError(kind, budgetMs)
        }
        const { sql, values } = build()
        sent = true
        if (!background) statementCount++
        return await onConnection<T>(connection, sql, values)
      } catch (error) {
        // A connection that came too late for its caller is no sign of a MySQL in trouble.
        if (!sentByServer(error) && !callerGone) lastFailureAt = Date.now()
        throw error
      }
    })().finally(() => {
      slot.leave()
      timings.statement?.(kind, Date.now() - started)
    })

    let timer: NodeJS.Timeout | undefined
    const waitLeft = startedAt + budgetMs - Date.now()
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        // A write already on its way may commit: it keeps its caller waiting until MySQL answers.
        if (kind === 'write' && sent) return
        callerGone = true
        answer.catch(() => {})
        reject(deadlineError(kind, budgetMs))
      }, waitLeft)
    })
    return await Promise.race([answer, deadline])
      .catch(asUnavailable)
      .finally(() => clearTimeout(timer))
  }

  return {
    read: (sql, values, statement) => run('read', () => ({ sql, values }), Date.now(), undefined, statement?.background),
    readWhenAdmitted: (build, startedAt, requests) => run('read', build, startedAt, requests),
    write: (sql, values, statement) => run('write', () => ({ sql, values }), Date.now(), undefined, statement?.background),
    gate,
    get statementCount () { return statementCount },
    answeredRecently (withinMs) { return lastAnswerAt >= lastFailureAt && Date.now() - lastAnswerAt < withinMs },
    close: () => gate.close()
  }
}
