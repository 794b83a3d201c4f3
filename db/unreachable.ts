import type { ConnectionOptions } from 'mysql2'

/** MySQL could not be reached, or refused the service's account, at start: a person must change a setting or start MySQL. */
export class DatabaseUnreachable extends Error {
  name = 'DatabaseUnreachable'
}

// What each failure to connect most likely asks of the person reading it.
const ADVICE: Record<string, string> = {
  ENOTFOUND: 'the host name does not resolve: check DATABASE_HOST',
  EAI_AGAIN: 'the host name could not be resolved right now: check DATABASE_HOST and the DNS',
  ECONNREFUSED: 'nothing accepts connections there: is MySQL running, and are DATABASE_HOST and DATABASE_PORT right?',
  ETIMEDOUT: 'MySQL did not answer in time: is DATABASE_HOST reachable from here (a firewall, a wrong network)?',
  EHOSTUNREACH: 'the host cannot be reached from here: check DATABASE_HOST and the network',
  ER_ACCESS_DENIED_ERROR: 'MySQL refused the account: check DATABASE_USER and DATABASE_PASSWORD, and the host the account may connect from'
}

/**
 * A failed first connection becomes a message that names the settings to
 * check, without the driver's stack; any other error passes unchanged.
 */
export function explainUnreachable (error: unknown, settings: Pick<ConnectionOptions, 'host' | 'port' | 'user'>): unknown {
  const code = (error as { code?: unknown }).code
  const advice = typeof code === 'string' ? ADVICE[code] : undefined
  if (advice === undefined) return error
  return new DatabaseUnreachable(
    `Cannot connect to MySQL at ${settings.host}:${settings.port} as ${settings.user} (${code}): ${advice}`,
    { cause: error }
  )
}
