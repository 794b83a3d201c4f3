import t from 'tap'
import { isUnwell, parseContainers, type Container } from './compose/containers.ts'

// What `npm run test:compose` reads from `docker compose ps --all --format json` to decide whose
// logs a failure shows; the engine runs only there, so the parsing of both of Compose's formats
// is checked here.

const app: Container = { Name: 'p-app-1', Service: 'app', State: 'running', Health: 'healthy', ExitCode: 0 }
const job: Container = { Name: 'p-redis-cluster-create-1', Service: 'redis-cluster-create', State: 'exited', Health: '', ExitCode: 0 }

t.test('one JSON object per line (Compose 2.21 and later), a JSON array before, nothing for no container', async t => {
  t.same(parseContainers(`${JSON.stringify(app)}\n${JSON.stringify(job)}\n`), [app, job])
  t.same(parseContainers(JSON.stringify([app, job])), [app, job])
  t.same(parseContainers('\n'), [])
})

t.test('unwell: a healthcheck that does not say healthy, or no healthcheck and neither running nor a job that exited 0', async t => {
  t.equal(isUnwell(app), false, 'healthy')
  t.equal(isUnwell({ ...app, Health: 'starting' }), true, 'starting')
  t.equal(isUnwell({ ...app, State: 'restarting', Health: 'unhealthy', ExitCode: 1 }), true, 'unhealthy')
  t.equal(isUnwell({ Name: 'p-proxy-1', Service: 'proxy', State: 'running', ExitCode: 0 }), false, 'running without a healthcheck (no Health field)')
  t.equal(isUnwell(job), false, 'a one-shot job that exited 0')
  t.equal(isUnwell({ ...job, ExitCode: 1 }), true, 'a job that failed')
  t.equal(isUnwell({ ...job, State: 'restarting', ExitCode: 1 }), true, 'a container restarting without a healthcheck')
})
