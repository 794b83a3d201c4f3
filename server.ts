import closeWithGrace from 'close-with-grace'
import { buildApp, shutdownGraceMs } from './app.ts'
import { restoreLargeHeapGrowth } from './heap-growth.ts'
import { TriggerCreationRefused } from './db/migrate.ts'
import { DatabaseUnreachable } from './db/unreachable.ts'
import { readConfig, type Config } from './config/read-config.ts'

function configOrExit (): Config {
  try {
    return readConfig(process.env)
  } catch (error) {
    // A person fixes this: the message alone says which variable to change, a stack trace would bury it.
    console.error((error as Error).message)
    process.exit(1)
  }
}

/** Start-up failures whose message says what to change: a person reads it, a stack trace would bury it. */
function exitIfExplained (error: unknown): never {
  if (error instanceof DatabaseUnreachable || error instanceof TriggerCreationRefused) {
    console.error(error.message)
    process.exit(1)
  }
  throw error
}

restoreLargeHeapGrowth()

const config = configOrExit()
const app = await buildApp({ config }).catch(exitIfExplained)

// On SIGINT/SIGTERM: stop accepting, let in-flight requests (and their invalidations) finish, close the pools.
closeWithGrace({ delay: shutdownGraceMs(config), logger: app.log }, async ({ signal }) => {
  app.log.info({ signal }, 'closing: finishing in-flight requests')
  await app.close()
})

await app.listen({ host: config.HOST, port: config.PORT })
