# The test-deploy-loop worker (`tdl worker`). The suite, deploy and notification commands run in this
# container: build your own image FROM this one with your test runner and deploy tools added.
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
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
ENV TDL_REPORTS_DIR=/reports
VOLUME /reports
ENTRYPOINT ["node", "/app/bin/tdl.js"]
CMD ["worker"]
