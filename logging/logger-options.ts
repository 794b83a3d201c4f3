import type { FastifyServerOptions } from 'fastify'
import type { Config } from '../config/read-config.ts'

/** JSON logs (pino) everywhere, pretty ones only for a developer watching a terminal. */
export function loggerOptions (config: Config, terminal: boolean): FastifyServerOptions['logger'] {
  return {
    level: config.LOG_LEVEL,
    // The default serializers leave headers out; this keeps tokens out even if a log line adds them.
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    ...(config.NODE_ENV === 'development' && terminal
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {})
  }
}
