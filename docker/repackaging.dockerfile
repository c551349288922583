# The offline repackager: `dify-plugin-daemon repackage` in an image that takes the command lines of
# junjiem/dify-plugin-repackaging (docker/repackaging-entrypoint.sh maps them). Build from the repository root:
#   docker build -f docker/repackaging.dockerfile --build-arg VERSION=0.1.0 -t dify-plugin-repackaging:0.1.0 .
# Run with a host folder mounted at /app/dify-plugin; the result, <name>-offline.difypkg, is written there:
#   docker run --rm -v "$PWD/dify-plugin:/app/dify-plugin" dify-plugin-repackaging:0.1.0 market junjiem mcp_sse 0.0.1
#
# Base: python:3.12-slim-bookworm, with Node 20 copied in from node:20-bookworm-slim (same Debian release, so the
# same glibc). Not node:20-bookworm-slim + Debian's python3 as docker/daemon.dockerfile does: bookworm's python3 is
# 3.11, while Dify plugins declare 3.12 (meta.runner.version), the version Dify's plugin runtime runs. With only
# 3.11 the repackager would have to fetch wheels for a foreign interpreter (pip's --python-version, which allows
# binary wheels only), so a dependency published as an sdist could not be packaged. Here python3 and python3.12
# are the official CPython 3.12 (pip and venv included; the repackager picks python3.N when it is on PATH).

# Node 20 and the project's production dependencies, installed exactly as docker/daemon.dockerfile installs them.
# No dependency has a native addon; esbuild (tsx's compiler) fetches its linux binary for the build's platform.
FROM node:20-bookworm-slim AS node
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.12-slim-bookworm

ARG VERSION=dev
LABEL org.opencontainers.image.title="dify-plugin-repackaging" \
      org.opencontainers.image.description="Repackages Dify plugins with their Python dependencies as wheels, for offline installation" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

# tini is PID 1: it forwards SIGTERM/SIGINT to the repackager (-g: to its process group, pip included) and reaps
# orphans. libstdc++6 is what the node binary links besides glibc (already there through apt; named to keep it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/*

# Only the node binary: the image runs the CLI, it never runs npm.
COPY --from=node /usr/local/bin/node /usr/local/bin/node

WORKDIR /app
COPY --from=node /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY gen ./gen
COPY proto ./proto
COPY server/src ./server/src
COPY clients ./clients
COPY tsconfig.json ./
COPY docker/repackaging-entrypoint.sh /usr/local/bin/repackaging-entrypoint

# REPACKAGE_CACHE_DIR keeps downloaded packages and wheels between runs. It is not a VOLUME on purpose: with
# `docker run --rm` an anonymous volume would be thrown away after each run anyway (and without --rm they pile
# up); to reuse downloads mount a named volume there: -v dify-repackage-cache:/var/cache/dify-repackage.
# TSX_TSCONFIG_PATH pins the project's tsconfig: tsx would otherwise look for one from the working directory
# upwards, and that is the user's mounted folder.
ENV NODE_ENV=production \
    DIFY_PLUGIN_REPACKAGING_VERSION="${VERSION}" \
    DIFY_PLUGIN_DAEMON_CLI=dify-plugin-daemon \
    OUTPUT_DIR=/app/dify-plugin \
    REPACKAGE_CACHE_DIR=/var/cache/dify-repackage \
    TSX_TSCONFIG_PATH=/app/tsconfig.json \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The `dify-plugin-daemon` command (package.json's bin) and the entrypoint on PATH; both folders writable by any
# user, so the image also runs as `--user "$(id -u):$(id -g)"` (outputs then belong to the host user). The last
# lines check that the interpreters and the CLI start, and that the CLI has the repackage command.
RUN printf '#!/bin/sh\nexec node /app/clients/cli/bin.mjs "$@"\n' > /usr/local/bin/dify-plugin-daemon \
 && chmod 0755 /usr/local/bin/dify-plugin-daemon /usr/local/bin/repackaging-entrypoint \
 && mkdir -p /app/dify-plugin /var/cache/dify-repackage \
 && chmod 1777 /app/dify-plugin /var/cache/dify-repackage \
 && node --version \
 && python3 --version && python3.12 -m pip --version && python3 -c "import ensurepip, venv" \
 && dify-plugin-daemon repackage --help > /dev/null

WORKDIR /app/dify-plugin
VOLUME ["/app/dify-plugin"]

ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/usr/local/bin/repackaging-entrypoint"]
CMD ["--help"]
