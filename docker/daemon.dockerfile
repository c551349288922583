# The plugin daemon. Build from the repository root:
#   docker build -f docker/daemon.dockerfile -t dify-plugin-daemon-ts .
FROM node:20-bookworm-slim

# Python runs the plugins (venv + pip). tini is PID 1: it forwards SIGTERM to the daemon and reaps any
# plugin process orphaned by a crash, which node as PID 1 would leave as zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY gen ./gen
COPY proto ./proto
COPY server/src ./server/src
COPY clients ./clients
COPY tsconfig.json ./

ENV NODE_ENV=production \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=5002 \
    DATA_DIR=/app/storage
VOLUME ["/app/storage"]
EXPOSE 5002 5003

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD ["node", "clients/cli/bin.mjs", "health", "--url", "http://127.0.0.1:5002"]

ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["node", "--import", "tsx", "server/src/main.ts"]
