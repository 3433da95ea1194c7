# syntax=docker/dockerfile:1
# The image that templates/ runs: `joch sync`, the continuous reconciler.
#
#   docker build -t ghcr.io/peasantsai/joch:0.1.0 .
#   kind load docker-image ghcr.io/peasantsai/joch:0.1.0    # or push it to your registry
#
# The image holds the published npm package (what `npm pack` produces) and its
# production dependencies at the versions of package-lock.json, nothing else.
# No git binary: the Git source and the status writer use isomorphic-git.
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Compile and pack the package exactly as it is published.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The only install scripts are development tools' (a Node binary for npm
# scripts, esbuild's platform check); compiling needs neither.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
COPY templates ./templates
RUN npm run build \
 && mkdir /pkg \
 && npm pack --ignore-scripts --pack-destination /pkg \
 && tar -xzf /pkg/joch-*.tgz -C /pkg

# 2. The unpacked package with its production dependencies only. Scripts stay
# off: the package's own `prepare` builds from sources that are not shipped.
FROM ${NODE_IMAGE} AS deps
WORKDIR /opt/joch
COPY --from=build /pkg/package/ ./
COPY package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm package-lock.json

# 3. The runtime: Node and the package. npm, yarn and corepack are removed, as
# nothing installs at run time. Everything joch writes goes to two folders the
# Deployment mounts (the Git cache and /tmp), so the root filesystem can be
# read-only.
FROM ${NODE_IMAGE} AS runtime
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && groupadd --gid 65532 joch \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin joch \
 && mkdir -p /var/cache/joch \
 && chown 65532:65532 /var/cache/joch
COPY --from=deps /opt/joch /opt/joch
ENV NODE_ENV=production \
    HOME=/tmp \
    JOCH_SYNC_CACHE_DIR=/var/cache/joch
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["node", "/opt/joch/bin/joch.js", "sync"]
