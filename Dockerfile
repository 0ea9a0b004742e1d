# The test-deploy-loop worker (`tdl worker`). The suite, deploy and notification commands run in this
# container, as the unprivileged user `node`: build your own image FROM this one with your test runner
# and deploy tools added (install them after `USER root`, then switch back with `USER node`).
FROM node:20-bookworm-slim
WORKDIR /app
# jemalloc, for the worker's memory (see its ENV below); before the sources, so a code change keeps this layer.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
COPY test ./test
COPY bench ./bench
COPY examples ./examples
# prepare builds dist/ and the workflow bundle; the Temporal CLI is not needed against a server.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev \
  && mkdir -p /reports && chown node:node /reports
ENV TDL_REPORTS_DIR=/reports
# The worker's memory with thousands of loops (bench/many-loops). jemalloc hands freed memory back
# where glibc's per-thread arenas keep it fragmented; it is preloaded for every process here, the
# suite commands too. narenas:2 and the decay times keep its own caches small.
ENV LD_PRELOAD=libjemalloc.so.2
ENV MALLOC_CONF=narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0
# Owned by the worker's user before it becomes a volume: a new named volume copies the ownership.
VOLUME /reports
# Anyone who can start a loop runs commands here: not as root. `node` (uid 1000) comes with the base image.
USER node
# V8 grows a heap to up to 4x its live size before a full collection when its limit is the default
# 4 GB; 1 GB (the diagnosis thread's own limit) keeps the workflow thread's heap near its live size,
# and a 2 MB young generation keeps each heap's nursery small. Flags, not NODE_OPTIONS: the suite's
# own Node processes keep their defaults.
ENTRYPOINT ["node", "--max-old-space-size=1024", "--max-semi-space-size=2", "/app/bin/tdl.js"]
CMD ["worker"]
