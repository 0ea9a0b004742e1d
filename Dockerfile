# The test-deploy-loop worker (`tdl worker`). The suite, deploy and notification commands run in this
# container, as the unprivileged user `node`: build your own image FROM this one with your test runner
# and deploy tools added (install them after `USER root`, then switch back with `USER node`).
FROM node:20-bookworm-slim
WORKDIR /app
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
# Two malloc arenas instead of one per thread: with thousands of loops the worker's native threads
# otherwise leave most of its resident memory in fragmented arenas (2,000 loops: 382 MB, not 568 MB).
ENV MALLOC_ARENA_MAX=2
# Owned by the worker's user before it becomes a volume: a new named volume copies the ownership.
VOLUME /reports
# Anyone who can start a loop runs commands here: not as root. `node` (uid 1000) comes with the base image.
USER node
ENTRYPOINT ["node", "/app/bin/tdl.js"]
CMD ["worker"]
