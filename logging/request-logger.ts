import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'

// Fastify takes these types from pino without naming them in its own exports.
type Bindings = Parameters<FastifyBaseLogger['child']>[0]
type ChildLoggerOptions = Parameters<FastifyBaseLogger['child']>[1]

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
/** What pino's loggers have beyond FastifyBaseLogger, and code given request.log may call. */
interface PinoExtras {
  isLevelEnabled (level: string): boolean
  bindings (): Bindings
  flush (done?: (error?: Error) => void): void
  readonly msgPrefix: string | undefined
}
type PinoLogger = FastifyBaseLogger & PinoExtras

/**
 * A request's logger that becomes pino's child (the request id bound) only
 * when it writes a line. Fastify makes a child logger for every request;
 * most requests here log nothing at the configured level (their line is at
 * debug, logging/request-log-controller.ts), and making the child cost a
 * cache hit a tenth of its CPU. The lines written are the child's own.
 */
class LazyRequestLogger {
  readonly #parent: PinoLogger
  readonly #bindings: Bindings
  #child: PinoLogger | undefined

  constructor (parent: PinoLogger, bindings: Bindings) {
    this.#parent = parent
    this.#bindings = bindings
  }

  #real (): PinoLogger {
    return (this.#child ??= this.#parent.child(this.#bindings) as PinoLogger)
  }

  #write (level: Level, args: unknown[]): void {
    // The parent's level, read at each line: an operator may change it while the request runs.
    if (this.#child !== undefined || this.#parent.isLevelEnabled(level)) (this.#real()[level] as (...line: unknown[]) => void)(...args)
  }

  get level (): string { return this.#child?.level ?? this.#parent.level }
  set level (level: string) { this.#real().level = level }
  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
  silent (): void {}
  // The parent answers what the child would, as long as there is no child: its level and prefix are the parent's.
  isLevelEnabled (level: string): boolean { return (this.#child ?? this.#parent).isLevelEnabled(level) }
  get msgPrefix (): string | undefined { return (this.#child ?? this.#parent).msgPrefix }
  // The child and the parent write to the same stream.
  flush (done?: (error?: Error) => void): void { (this.#child ?? this.#parent).flush(done) }
  bindings (): Bindings { return this.#real().bindings() }
  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger { return this.#real().child(bindings, options) }
}

/** Fastify's childLoggerFactory: a route with a log level or serializers of its own gets pino's child at once. */
export const requestLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  options.level !== undefined || options.serializers !== undefined
    ? logger.child(bindings, options)
    : new LazyRequestLogger(logger as PinoLogger, bindings) as unknown as FastifyBaseLogger
