import underPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'

export const UNDER_PRESSURE_MESSAGE = 'The service is overloaded; try again shortly'

/**
 * Sheds every request with 503 and Retry-After while the event loop lags
 * more than MAX_EVENT_LOOP_DELAY_MS (mean over a second): a process that
 * saturated its CPU answers nothing in time, and refusing fast lets it and
 * the balancer recover. No health check is given to it on purpose: a MySQL
 * or Redis that is down must not shed cache hits or grace-period answers.
 */
export default fp(async function pressure (fastify) {
  const { MAX_EVENT_LOOP_DELAY_MS } = fastify.config
  if (MAX_EVENT_LOOP_DELAY_MS === 0) return
  await fastify.register(underPressure, {
    maxEventLoopDelay: MAX_EVENT_LOOP_DELAY_MS,
    retryAfter: 5,
    message: UNDER_PRESSURE_MESSAGE
  })
}, { name: 'under-pressure', dependencies: ['config'] })
