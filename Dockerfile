# syntax=docker/dockerfile:1
#
# metrics-manager: one image for the agent (default command) and the controller.
#
#   docker build -t metrics-manager:0.1.0 .
#   docker run --rm --read-only -p 9090:9090 metrics-manager:0.1.0              # agent
#   docker run --rm --read-only metrics-manager:0.1.0 controller                # controller (in a cluster)
#
# Node 24 (the current LTS). The runtime stage holds production dependencies only, runs as uid 10001
# and writes nothing to its root filesystem: it works with readOnlyRootFilesystem. tini is PID 1: it
# forwards signals to node and reaps the processes the user scripts leave behind (an orphan's
# parent becomes PID 1, and node never waits for processes it did not start). The optional forwarding spool
# (FORWARD_SPOOL_DIR) and user scripts (CUSTOM_METRICS_DIR, /app/custom-metrics) are volumes.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: every dependency, compile TypeScript ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json \
 && node dist/main.js --help

# --- deps: production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="metrics-manager" \
      org.opencontainers.image.description="Per-node metrics hub for Kubernetes nodes running AI workloads on Intel GPUs and NPUs: agent and controller" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 metrics-manager \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin metrics-manager \
 && mkdir -p /app/custom-metrics

ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# package.json: the version the agent reports, and the package root the dashboard assets are found from.
COPY package.json ./
# The dashboard's static assets (served at /dashboard and to browsers at /metrics/stream).
COPY src/stream/dashboard ./src/stream/dashboard
# The entry script: sizes V8's heap from the container's memory limit, then execs node dist/main.js.
COPY bin ./bin

USER 10001:10001
EXPOSE 9090
# GET /health of the agent (no curl in the image: Node's fetch). The controller serves no HTTP, so
# for it the check only confirms the process is the controller.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "if(require('fs').readFileSync('/proc/1/cmdline','utf8').split('\\0').includes('controller'))process.exit(0);fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9090)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini reaps orphans; bin/metrics-manager sizes the heap (docs/configuration.md) and execs Node.
ENTRYPOINT ["/usr/bin/tini", "--", "/app/bin/metrics-manager"]
CMD ["agent"]
