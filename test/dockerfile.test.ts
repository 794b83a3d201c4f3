import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import packageJson from '../package.json' with { type: 'json' }
import { ROOT, healthcheck, imageCommand, instructionsOf, readDockerfile, stageEnvironment, type Stage } from './support/process-deployment.ts'

// No Docker engine runs here or in CI: these checks read the Dockerfile; test/production-start.test.ts runs its CMD.

const stages = readDockerfile()
const final = stages.at(-1) as Stage
const build = stages.find(stage => stage.name === 'build')

const runs = (stage: Stage) => instructionsOf(stage, 'RUN').map(({ args }) => args)
const copies = (stage: Stage) => instructionsOf(stage, 'COPY').map(({ args }) => {
  const words = args.split(/\s+/)
  const from = words.find(word => word.startsWith('--from='))?.slice('--from='.length)
  const paths = words.filter(word => !word.startsWith('--'))
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1) }
})

t.test('two stages or more: one builds with dev dependencies, the last one runs', async t => {
  t.ok(stages.length >= 2, `${stages.length} stages`)
  t.ok(build, 'a stage named "build"')
  t.not(final, build, 'the final stage is not the build stage')
})

t.test('every stage is an official Node.js LTS image, pinned by major, the one the tests run on', async t => {
  const testedMajor = /\d+/.exec(packageJson.devDependencies.node)?.[0]
  for (const { image, name } of stages) {
    const match = /^node:(\d+)(-[a-z0-9-]+)?$/.exec(image)
    t.ok(match, `${name}: ${image} is the official "node" image with a version tag`)
    const major = Number(match?.[1])
    t.equal(major % 2, 0, `${name}: Node ${major} is an LTS line (even major)`)
    t.equal(String(major), testedMajor, `${name}: Node ${major} is the major the tests run on (package.json's node devDependency)`)
    t.notMatch(image, /:\d+\.\d+/, `${name}: pinned by major only, so rebuilds take security releases`)
  }
  t.equal(new Set(stages.map(stage => stage.image)).size, 1, 'built and run on the same image')
})

t.test('the build stage installs with npm ci and runs npm run build on every source tsc compiles', async t => {
  if (build === undefined) return t.fail('no build stage')
  t.ok(runs(build).some(command => /^npm ci\b/.test(command) && !command.includes('--omit=dev')), 'npm ci with dev dependencies (TypeScript)')
  t.ok(runs(build).some(command => /^npm run build\b/.test(command)), 'npm run build')
  t.match(packageJson.scripts.build, /tsc -p tsconfig\.build\.json/, 'npm run build compiles tsconfig.build.json')

  const copied = new Set(copies(build).filter(copy => copy.from === undefined).flatMap(copy => copy.sources))
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] }
  for (const source of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', ...tsconfig.include]) {
    t.ok(copied.has(source), `the build stage copies ${source}`)
  }
  t.ok(copied.has('db'), 'db/, with the SQL migrations npm run build copies into dist/')
  t.ok(copied.has('console'), 'console/, the operators\' page npm run build copies into dist/')
})

t.test('the final stage runs as a non-root user in production mode', async t => {
  const user = instructionsOf(final, 'USER').at(-1)?.args
  t.ok(user, 'USER is set')
  t.notOk(['root', '0', '0:0'].includes(user ?? 'root'), `USER ${user} is not root`)
  const env = stageEnvironment(final)
  t.equal(env.NODE_ENV, 'production')
  t.equal(env.HOST, '0.0.0.0', 'listens on every interface of the container')
  t.ok(instructionsOf(final, 'EXPOSE').some(({ args }) => args.split(/\s+/).includes(env.PORT ?? '8000')), 'EXPOSE the port it listens on')
  t.equal(env.PORT ?? '8000', '8000', 'port 8000, as the seed')
})

t.test('the final stage has production dependencies and the compiled service, nothing else', async t => {
  t.ok(runs(final).some(command => /^npm ci\b.*--omit=dev/.test(command)), 'npm ci --omit=dev')
  t.notOk(runs(final).some(command => /npm (install|i)\b/.test(command)), 'no npm install, which could change the lock file')
  const buildWorkdir = build === undefined ? undefined : instructionsOf(build, 'WORKDIR').at(-1)?.args
  for (const { from, sources } of copies(final)) {
    if (from === undefined) {
      t.same(sources.sort(), ['package-lock.json', 'package.json'], 'from the context: package.json and package-lock.json only')
    } else {
      t.equal(from, 'build', 'from the build stage')
      t.same(sources, [`${buildWorkdir}/dist`], 'from the build stage: dist/ only')
    }
    for (const source of sources) {
      t.notMatch(source, /(^|\/)test(\/|$)|\.ts$|^\.$|^src/, `${source} is neither tests nor TypeScript sources`)
    }
  }
  t.equal(instructionsOf(final, 'ADD').length, 0, 'no ADD')
})

t.test('CMD runs the compiled server with node, in exec form so node gets SIGTERM', async t => {
  t.same(imageCommand(final), ['node', 'dist/server.js'])
  t.ok(existsSync(join(ROOT, 'server.ts')), 'server.ts is what tsc compiles to dist/server.js')
  const heapFlags = stageEnvironment(final).NODE_OPTIONS
  t.match(heapFlags, /^--max-semi-space-size=\d+ --max-old-space-size=\d+$/, 'the image sets V8\'s heap sizing')
  t.equal(packageJson.scripts['start:dist'], `node ${heapFlags} dist/server.js`, 'npm run start:dist starts the same command with the same heap')
  t.equal(packageJson.scripts.start, `node ${heapFlags} server.ts`, 'and so does npm start, from the sources')
})

t.test('HEALTHCHECK asks the liveness route with node itself (slim images have no curl)', async t => {
  const { command, options } = healthcheck(final)
  t.equal(command[0], 'node')
  t.match(command.join(' '), /\/health\b/)
  t.notMatch(command.join(' '), /\/ready\b/, 'liveness, not readiness: a MySQL outage must not get every instance restarted')
  t.ok(options.timeout, 'with a timeout')
  t.ok(options['start-period'], 'with a start period for migrations')
})

t.test('.dockerignore keeps secrets, local builds and tests out of the build context', async t => {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map(line => line.trim()).filter(line => line !== '' && !line.startsWith('#'))
  for (const required of ['node_modules', '.env', '.git', 'dist', 'test', '.tap', 'coverage']) {
    t.ok(patterns.includes(required), `excludes ${required}`)
  }
  t.notOk(patterns.some(pattern => pattern.startsWith('!')), 'no exceptions that could let something back in')

  const excluded = (path: string) => patterns.some(pattern =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`).test(path))
  const needed = stages.flatMap(stage => copies(stage).filter(copy => copy.from === undefined).flatMap(copy => copy.sources))
  for (const source of needed) {
    t.notOk(excluded(source), `${source}, which the Dockerfile copies, is in the build context`)
  }
})
