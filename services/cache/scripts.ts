import type { RedisClient } from './redis-client.ts'

export type ScriptArg = string | number

/**
 * Defines a Lua script on a client and returns the one way to call it: ioredis's
 * defineCommand (EVALSHA, then EVAL on NOSCRIPT; a Cluster sends it to the keys' node),
 * without claiming the command on every client's type. A wrapper exists only once its
 * script is defined, so a script that was not defined cannot be called.
 */
export function defineScript<R> (redis: RedisClient, name: string, numberOfKeys: number, lua: string): (...args: ScriptArg[]) => Promise<R> {
  redis.defineCommand(name, { numberOfKeys, lua })
  const command = (redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<R>>)[name] as (...args: ScriptArg[]) => Promise<R>
  return command.bind(redis)
}
