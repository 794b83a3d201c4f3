import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigurationError, readConfig, type Config } from './plugins/config.ts'

function configOrExit (): Config {
  try {
    return readConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error
    // A person fixes this: the message alone says what to change.
    console.error(error.message)
    process.exit(1)
  }
}

const config = configOrExit()
const app = await buildApp({ config })

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an uncaught error')
  else app.log.info({ signal }, 'closing: finishing in-flight requests')
  await app.close()
})

await app.listen({ host: config.HOST, port: config.PORT })
