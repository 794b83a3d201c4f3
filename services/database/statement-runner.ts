import type { MySQLPromisePool } from '@fastify/mysql'
import type { PoolConnection, QueryError } from 'mysql2'
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { createAdmissionGate, type AdmissionGate } from './admission-gate.ts'
import { createDeadlines } from './deadlines.ts'
import { asUnavailable, DatabaseUnavailableError } from './errors.ts'

// How late a statement's deadline may expire at most: a tenth of the read budget, and never more than this.
const DEADLINE_TICK_MS = 10

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

/** Called once with a statement's outcome: an error, or none and MySQL's answer. */
type Done<T> = (error: unknown, result?: T) => void

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
  const connections = pool.pool.pool
  connections.on('connection', connection => {
    // InnoDB always knows this variable; were it refused, the server's default (50 s) would stand.
    connection.query(`SET SESSION innodb_lock_wait_timeout = ${lockWaitSeconds}`, () => {})
  })
  const { timings } = options
  const deadlines = createDeadlines(Math.max(1, Math.min(DEADLINE_TICK_MS, Math.floor(options.readTimeoutMs / 10))))
  let statementCount = 0
  let lastAnswerAt = 0
  let lastFailureAt = 0

  function deadlineError (kind: StatementKind, budgetMs: number): DatabaseUnavailableError {
    return new DatabaseUnavailableError(kind === 'read'
      ? `MySQL did not answer within ${budgetMs} ms; try again in a few seconds`
      : `MySQL did not take the write within ${budgetMs} ms; it was not applied, try again in a few seconds`)
  }

  /**
   * The statement on a connection, which it holds until MySQL answers or the connection is given
   * up; `done` is called once. mysql2's callback API: its promise API captures a stack for every
   * call, which cost the miss path 4% of its CPU, and each promise around it more in collections.
   */
  function onConnection<T extends Result> (connection: PoolConnection, sql: string, values: unknown[], done: Done<T>): void {
    let answered = false
    const cancel = deadlines.watch(Date.now() + options.writeTimeoutMs, () => {
      answered = true
      // The caller is answered now; mysql2 may still call the command back (MySQL's answer, or a network error).
      connection.destroy()
      done(new DatabaseUnavailableError(
        `MySQL did not answer within ${options.writeTimeoutMs} ms; a write may or may not have been applied, read it back before retrying`
      ))
    })
    const answer = (error: QueryError | null, result?: T): void => {
      // A late answer on a connection given up: it is gone, and so is its caller.
      if (answered) return
      answered = true
      cancel()
      if (error === null || sentByServer(error)) {
        lastAnswerAt = Date.now()
        connection.release()
      } else {
        connection.destroy()
      }
      if (error === null) done(null, result)
      else done(error)
    }
    try {
      connection.query<T>({ sql, values }, answer)
    } catch (error) {
      // mysql2 formats the values before it sends anything: a value it cannot format is thrown here, nothing sent.
      answered = true
      cancel()
      connection.release()
      done(error)
    }
  }

  function run<T extends Result> (
    kind: StatementKind, build: StatementBuilder, startedAt = Date.now(), requests?: () => number, background = false
  ): Promise<T> {
    const budgetMs = kind === 'read' ? options.readTimeoutMs : options.writeTimeoutMs
    // Writes are precious: they wait out their own budget rather than be refused on an estimate.
    return gate.enter(startedAt + budgetMs, { patient: kind === 'write', requests }).then(slot => new Promise<T>((resolve, reject) => {
      timings.queueWait?.(slot.waitedMs)
      const started = Date.now()
      // The caller has had its 503: what comes later only frees the slot.
      let callerGone = false
      let sent = false
      const cancelDeadline = deadlines.watch(startedAt + budgetMs, () => {
        // A write already on its way may commit: it keeps its caller waiting until MySQL answers.
        if (kind === 'write' && sent) return
        callerGone = true
        reject(deadlineError(kind, budgetMs))
      })

      const finish: Done<T> = (error, result?) => {
        slot.leave()
        timings.statement?.(kind, Date.now() - started)
        // A connection that came too late for its caller is no sign of a MySQL in trouble, nor an error after it.
        if (callerGone) return
        cancelDeadline()
        if (error === null) {
          resolve(result as T)
          return
        }
        if (!sentByServer(error)) lastFailureAt = Date.now()
        reject(asUnavailable(error))
      }

      connections.getConnection((error, connection) => {
        if (error !== null) {
          finish(error)
        } else if (callerGone) {
          // Opened for a caller that has had its 503: a healthy connection for the next one, and nothing run.
          connection.release()
          finish(null)
        } else {
          // Thrown inside mysql2's callback, an error would be lost with the slot, or end the process.
          let statement: ReturnType<StatementBuilder>
          try {
            statement = build()
          } catch (buildError) {
            connection.release()
            finish(buildError)
            return
          }
          sent = true
          if (!background) statementCount++
          onConnection(connection, statement.sql, statement.values, finish)
        }
      })
    }))
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
