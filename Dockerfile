# The availability service: `docker compose up --build` builds this (see docker-compose.yml).
#
# Node 24 is the active LTS and the version the tests run on (package.json's `node` devDependency).
# Pinned by major only, so a rebuild picks up its security releases. bookworm-slim rather than
# alpine: glibc, as on the developers' and CI's Debian machines where the tests prove the build.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dev dependencies are needed here (TypeScript, fastify-tsconfig, @types/node), so a full `npm ci`,
# but with --ignore-scripts: the only package with an install script is the `node` devDependency,
# whose preinstall downloads a second Node 24 binary for the developers' machines. The image has
# Node 24 already; skipping it saves that download and runs no package's code at install time.
# Without that binary npm links no node_modules/.bin/node, so `npm run build` runs tsc on the
# image's own node.
RUN npm ci --ignore-scripts --no-audit --no-fund
# What tsconfig.build.json compiles (test/dockerfile.test.ts checks the two lists agree).
COPY tsconfig.json tsconfig.build.json ./
COPY *.ts ./
COPY config config
COPY domain domain
COPY logging logging
COPY metrics metrics
COPY plugins plugins
COPY routes routes
COPY schemas schemas
COPY services services
COPY db db
COPY console console
COPY scripts scripts
# tsc into dist/, then the SQL migrations beside the compiled db/migrate.js.
RUN npm run build

FROM node:24-bookworm-slim AS runtime
# V8's heap sizing, as `npm start` and `npm run start:dist` set it (docs/performance.md):
# 32 MiB semi-spaces, because each young collection copies every request still waiting for
# Redis, and four times fewer collections than with 8 MiB cost a cache hit less CPU (V8's own
# 64 MiB measured no better, at a higher peak); and a 256 MiB old space, six times the live
# heap the benchmark leaves after a full collection, bounds a leak. server.ts
# keeps V8's heap growth as it is without a cap (a cap alone made full collections far more
# frequent and cost a fifth of the throughput). An operator overrides both by setting NODE_OPTIONS.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    NODE_OPTIONS="--max-semi-space-size=32 --max-old-space-size=256"
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; none of them has an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
# The code stays owned by root: the process that runs it cannot change it.
USER node
EXPOSE 8000
# Liveness through node itself: the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health', { signal: AbortSignal.timeout(4000) }).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node as PID 1 is fine here: close-with-grace handles SIGTERM, and the service starts no children.
CMD ["node", "dist/server.js"]
