import { setFlagsFromString } from 'node:v8'
import closeWithGrace from 'close-with-grace'
import { buildApp, shutdownGraceMs } from './app.ts'
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

// V8 lets the old generation grow past what survived a full collection by a factor it lowers with the
// old-space cap: 1.3 to 1.4 under the image's cap, 4 only with 2 GiB and more. Under load that meant a
// full collection every few megabytes, and 15-25% fewer cache hits per second (docs/performance.md). The
// cap stays, to bound a leak; this restores the large heap's factor under it. Set here because Node
// refuses the flag in NODE_OPTIONS; V8 reads it at each collection, so it holds from the first one.
setFlagsFromString('--heap-growing-percent=300')

const config = configOrExit()
const app = await buildApp({ config }).catch(exitIfExplained)

// On SIGINT/SIGTERM: stop accepting, let in-flight requests (and their invalidations) finish, close the pools.
closeWithGrace({ delay: shutdownGraceMs(config), logger: app.log }, async ({ signal }) => {
  app.log.info({ signal }, 'closing: finishing in-flight requests')
  await app.close()
})

await app.listen({ host: config.HOST, port: config.PORT })
