import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { readConfig } from './plugins/config.ts'

const config = readConfig(process.env)
const app = await buildApp({ config })

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an uncaught error')
  else app.log.info({ signal }, 'closing: finishing in-flight requests')
  await app.close()
})

await app.listen({ host: config.HOST, port: config.PORT })
