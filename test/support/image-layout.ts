import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import packageJson from '../../package.json' with { type: 'json' }
import { ROOT, imageCommand, instructionsOf, readDockerfile } from './process-deployment.ts'

/**
 * The image's runtime, without Docker, for the tests that start the service as the image
 * starts it (test/production-start.test.ts, test/instances.test.ts): the Dockerfile's last
 * stage, its WORKDIR, its CMD with this node, and a build laid out as that stage lays it out.
 */

/** The Dockerfile's final stage: the one the container runs. */
export const runtime = readDockerfile().at(-1)!

/** The runtime stage's WORKDIR, where its CMD runs. */
export const workdir = instructionsOf(runtime, 'WORKDIR').at(-1)?.args ?? '/'

/** The image's command; its `node` is the node running the tests, the same major (test/dockerfile.test.ts). */
export const withThisNode = (command: string[]): string[] =>
  command.map((word, index) => index === 0 && word === 'node' ? process.execPath : word)

/** The runtime stage's CMD, run by this node: `node dist/server.js` as the image has it. */
export const imageStartCommand = (): string[] => withThisNode(imageCommand(runtime))

/**
 * The runtime stage's /app: dist/ built as `npm run build` builds it, package.json,
 * package-lock.json, and a node_modules that holds the production dependencies only.
 * Outside the repository, so that module resolution cannot climb into the repository's
 * node_modules: an import of a devDependency fails here as it would in the image.
 * Removed when `t` ends; returns the directory the CMD runs in.
 */
export async function buildImageLayout (t: Test): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'nicaventas-image-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const app = join(root, ...workdir.split('/'))
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], { cwd: ROOT })
  cpSync(join(ROOT, 'db', 'migrations'), join(app, 'dist', 'db', 'migrations'), { recursive: true })
  cpSync(join(ROOT, 'console'), join(app, 'dist', 'console'), { recursive: true })
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(app, file))
  for (const name of Object.keys(packageJson.dependencies)) {
    mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir')
  }
  return app
}
