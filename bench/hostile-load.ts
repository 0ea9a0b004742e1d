/**
 * Other loops' query latency while one loop runs a hostile suite, on a real dev server with one
 * in-process worker: the hostile suite writes `--output-mb` MB to stdout and a JUnit report whose
 * failing testcase has a name of `--name-kb` KB (`a.a.a.…`); meanwhile the bench queries `status`
 * of another loop (waiting for a fix) every 100 ms until the hostile loop has been diagnosed.
 * Prints the latency (median, p95, max), the hostile loop's time to diagnosis, and the peak RSS of
 * this process (the worker's). Target: every query under 1 s; peak RSS under 300 MB.
 *
 * Usage: node dist/bench/hostile-load.js [--output-mb 8] [--name-kb 320]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ensureTemporalCli } from '../src/devserver/temporal-cli';
import * as messages from '../src/workflows/messages';
import { createLoopWorker } from '../src/worker';

const SUITE = resolve(__dirname, '..', 'test', 'support', 'e2e-suite.js');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function main() {
  const { values } = parseArgs({ options: { 'output-mb': { type: 'string', default: '8' }, 'name-kb': { type: 'string', default: '320' } } });
  const outputMb = Number(values['output-mb']);
  const nameKb = Number(values['name-kb']);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', ui: false, log: { format: 'pretty', level: 'error' } },
  });
  const taskQueue = `bench-hostile-${randomUUID()}`;
  const worker = await createLoopWorker({ connection: env.nativeConnection, taskQueue, reportsDir: mkdtempSync(join(tmpdir(), 'tdl-bench-reports-')) });
  const running = worker.run();
  try {
    const staging = mkdtempSync(join(tmpdir(), 'tdl-bench-'));
    writeFileSync(join(staging, 'deploys.log'), '');
    const other = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
      taskQueue,
      workflowId: `bench-other-${randomUUID()}`,
      args: [{ name: 'other', suite: { command: `node ${SUITE}`, env: { STAGING_DIR: staging } } }],
    });
    while ((await other.query(messages.status)).phase !== 'awaiting-fix') await new Promise((r) => setTimeout(r, 50));

    const dir = mkdtempSync(join(tmpdir(), 'tdl-bench-hostile-'));
    const name = 'a.'.repeat((nameKb * 1024) / 2);
    writeFileSync(
      join(dir, 'report.xml'),
      `<testsuite name="s" tests="2"><testcase classname="c" name="ok"/><testcase classname="c" name="${name}"><failure message="boom"/></testcase></testsuite>`,
    );
    writeFileSync(join(dir, 'line'), `${'suite output '.repeat(80)}\n`);
    const lines = Math.ceil((outputMb * 1024 * 1024) / 1041);
    const started = Date.now();
    const hostile = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
      taskQueue,
      workflowId: `bench-hostile-${randomUUID()}`,
      args: [{ name: 'hostile', suite: { command: `yes "$(cat line)" | head -n ${lines}; cp report.xml "$JUNIT_XML"; exit 1`, cwd: dir, timeout: '5m' } }],
    });

    const latencies: number[] = [];
    let peakRss = process.memoryUsage().rss;
    let diagnosedMs = 0;
    while (!diagnosedMs) {
      const t = Date.now();
      await other.query(messages.status);
      latencies.push(Date.now() - t);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const s = await hostile.query(messages.status);
      if (s.phase === 'awaiting-fix' || s.phase === 'gave-up') diagnosedMs = Date.now() - started;
      else await new Promise((r) => setTimeout(r, 100));
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `hostile suite (${outputMb} MB stdout, ${nameKb} KB testcase name): diagnosed in ${diagnosedMs} ms; ` +
        `other loop's status query over ${latencies.length} queries: median ${percentile(latencies, 50)} ms, ` +
        `p95 ${percentile(latencies, 95)} ms, max ${latencies[latencies.length - 1]} ms; peak RSS ${Math.round(peakRss / 1024 ** 2)} MB`,
    );
    await Promise.all([other, hostile].map((h) => h.cancel()));
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
