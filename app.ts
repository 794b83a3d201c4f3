import type { Server } from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import availability, { type AvailabilityPluginOptions } from './plugins/availability.ts'
import changeStream from './plugins/change-stream.ts'
import type { Config } from './config/read-config.ts'
import config from './plugins/config.ts'
import databaseSchema from './plugins/database-schema.ts'
import errorHandler from './plugins/error-handler.ts'
import gracefulClose from './plugins/graceful-close.ts'
import methodNotAllowed from './plugins/method-not-allowed.ts'
import metrics from './plugins/metrics.ts'
import mysql from './plugins/mysql.ts'
import redis from './plugins/redis.ts'
import securityHeaders from './plugins/security-headers.ts'
import sensible from './plugins/sensible.ts'
import underPressure from './plugins/under-pressure.ts'
import openApi from './plugins/openapi.ts'
import readRoutes from './routes/active/read.ts'
import eventsRoute from './routes/active/events.ts'
import ofrepRoutes from './routes/ofrep.ts'
import ofrepEventsRoute from './routes/ofrep-events.ts'
import operatorRoutes from './routes/operators.ts'
import consoleRoutes from './routes/console.ts'
import healthRoutes from './routes/health.ts'
import metricsRoute from './routes/metrics.ts'
import rootRoute from './routes/root.ts'
import { ErrorResponse } from './schemas/errors.ts'
import { customFormats } from './schemas/formats.ts'
import { validationError } from './schemas/validation-error.ts'
import { loggerOptions } from './logging/logger-options.ts'
import { RequestLogController } from './logging/request-log-controller.ts'
import { requestLoggerFactory } from './logging/request-logger.ts'
import { createRequestIds } from './logging/request-ids.ts'

export interface AppOptions extends AvailabilityPluginOptions {
  config: Config
  /** Where the log lines go instead of stdout: a test reads them there. */
  logStream?: { write: (line: string) => void }
}

// A location body is well under 200 bytes; anything near this limit is not one.
const BODY_LIMIT_BYTES = 4096

/**
 * The HTTP server's timeouts. An idle keep-alive connection costs a few
 * kilobytes and no CPU, so none is refused for its number; what is bounded
 * is how long a client may take. Kept-alive connections outlive the proxy's
 * own (nginx keeps idle upstream connections 60 s), so the proxy never
 * sends a request on a connection we are closing.
 */
export const HTTP_TIMEOUTS = {
  keepAliveTimeout: 72_000,
  // Headers sent a byte at a time (slowloris) are cut off after this: 408, connection closed.
  headersTimeout: 10_000,
  // Above the longest request the service has: a write waiting for its turn, then for MySQL's answer (DATABASE_WRITE_TIMEOUT_MS each, 8 s by default).
  requestTimeout: 30_000,
  // How often Node looks for connections past those limits.
  connectionsCheckingInterval: 1_000
} as const

/** The proxies nearest us are trusted to say who they heard from (X-Forwarded-For); none when 0. */
function trustedHops (hops: number): false | ((address: string, hop: number) => boolean) {
  return hops === 0 ? false : (_address, hop) => hop < hops
}

/**
 * How long SIGTERM waits for in-flight requests before the process exits anyway: the longest a
 * request may take, a write waiting for its turn and then for MySQL's answer, and a margin.
 */
export function shutdownGraceMs (config: Config): number {
  return 2 * config.DATABASE_WRITE_TIMEOUT_MS + 2000
}

/** What the server and its per-request plugins need: the configuration, and where the log goes. */
type ShellOptions = Pick<AppOptions, 'config' | 'logStream'>

/** The HTTP server's options: the logger, limits and timeouts, request ids, and how inputs are validated. */
function serverOptions (options: ShellOptions): FastifyHttpOptions<Server> {
  const requestId = createRequestIds()
  return {
    logger: options.logStream === undefined
      ? loggerOptions(options.config, process.stdout.isTTY)
      : { ...loggerOptions(options.config, false) as object, stream: options.logStream },
    bodyLimit: BODY_LIMIT_BYTES,
    // While closing, a request that reaches us on a connection already open is served, not answered
    // 503: during a rolling restart the proxy has sent it here, and nginx does not retry a 503.
    // plugins/graceful-close.ts ends every such connection with its answer.
    return503OnClosing: false,
    keepAliveTimeout: HTTP_TIMEOUTS.keepAliveTimeout,
    requestTimeout: HTTP_TIMEOUTS.requestTimeout,
    http: { headersTimeout: HTTP_TIMEOUTS.headersTimeout, connectionsCheckingInterval: HTTP_TIMEOUTS.connectionsCheckingInterval },
    logController: new RequestLogController(),
    childLoggerFactory: requestLoggerFactory,
    // The client's address, for the guessing limit and the log, is the one the trusted proxies saw (compose's nginx: 1 hop).
    trustProxy: trustedHops(options.config.TRUST_PROXY_HOPS),
    // A proxy's id ties our log lines to its own; one that could forge or flood a log line is replaced.
    requestIdHeader: false,
    genReqId: request => requestId(request.headers['x-request-id']),
    ajv: {
      customOptions: {
        // Query values are strings already and bodies are JSON: nothing to coerce, and nothing silently dropped.
        coerceTypes: false,
        removeAdditional: false,
        // Lets the error formatter quote a schema's description instead of its regular expression.
        verbose: true,
        formats: customFormats
      }
    },
    schemaErrorFormatter: validationError
  }
}

/**
 * The server and the plugins every request passes through, whatever its route: its options
 * (logging, ids, validation, limits), errors, security headers, close, admission and metrics.
 * No data and no routes: buildApp adds them, and bench/shell-server.ts measures this alone.
 */
export async function buildServerShell (options: ShellOptions): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(options)).withTypeProvider<TypeBoxTypeProvider>()

  // Only JSON bodies: anything else is 415, not a string for the validator to reject.
  app.removeContentTypeParser(['text/plain'])

  app.addSchema(ErrorResponse)
  await app.register(config, { config: options.config })
  await app.register(sensible)
  await app.register(errorHandler)
  await app.register(securityHeaders)
  await app.register(methodNotAllowed)
  await app.register(gracefulClose)
  await app.register(underPressure)
  await app.register(metrics)
  return app
}

/** The whole service, as the server runs it and as the tests build it. */
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const app = await buildServerShell(options)
  await app.register(databaseSchema)
  await app.register(mysql)
  await app.register(redis)
  await app.register(availability, { afterDatabaseRead: options.afterDatabaseRead, recordGapWaitMs: options.recordGapWaitMs, recordMaxGaps: options.recordMaxGaps })
  await app.register(changeStream)
  await app.register(openApi)

  await app.register(rootRoute)
  await app.register(healthRoutes)
  await app.register(metricsRoute)
  await app.register(readRoutes)
  await app.register(eventsRoute)
  await app.register(ofrepRoutes)
  await app.register(ofrepEventsRoute)
  await app.register(operatorRoutes)
  await app.register(consoleRoutes)
  return app
}
